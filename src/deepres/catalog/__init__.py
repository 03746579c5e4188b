"""Finding scenes: STAC search, cloud cover over the AOI from SCL, indexing local scene folders."""
