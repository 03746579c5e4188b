from deepres.cli import main

main()
