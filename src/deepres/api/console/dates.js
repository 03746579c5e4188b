/* deepres console, available dates: the asynchronous search (initiate, poll, retrieve) and the
 * table of dates found, all ticked so that Submit is one click away.
 */
import { $, api, emit, formatHa, say, sleep, state } from "./core.js";

export async function findDates() {
  const body = { aoi: state.aoi, cloud_cover: Number($("cloud").value) };
  if ($("start").value) body.start_date = $("start").value;
  if ($("end").value) body.end_date = $("end").value;
  $("find-dates").disabled = true;
  $("dates").hidden = true;
  state.datesListed = false;
  say("dates-msg", "Searching…");
  try {
    const started = await api("POST", "/deep-resolution/available_dates/initiate", body);
    let status = started;
    while (status.status === "NEW" || status.status === "PROCESSING") {
      await sleep(Math.min(Math.max(status.nextTry || 1, 0.5), 3) * 1000);
      status = await api("POST", "/tasking/check-status", { pipelineId: started.pipelineId });
      say("dates-msg", "Searching… (" + status.status + ")");
    }
    const answer = await api("POST", "/deep-resolution/available_dates/retrieve", { pipelineId: started.pipelineId });
    showDates(answer.data);
  } catch (e) {
    say("dates-msg", e.message, "error");
  } finally {
    emit("changed");
  }
}

function showDates(data) {
  const dates = data.available_dates || [];
  if (typeof data.area_hectares === "number") {
    state.serverHa = data.area_hectares;
    $("area-server").textContent = "(service: " + formatHa(data.area_hectares) + ")";
  }
  const tbody = $("dates").querySelector("tbody");
  tbody.innerHTML = "";
  for (const d of dates) {
    const day = d.date.slice(0, 10);
    const tr = document.createElement("tr");
    tr.dataset.date = day;
    tr.innerHTML = "<td><input type='checkbox' checked></td><td></td><td></td><td></td>";
    tr.querySelector("input").value = day;
    tr.querySelector("input").setAttribute("aria-label", "use " + day);
    tr.cells[1].textContent = day;
    tr.cells[2].textContent = d.mgrs;
    tr.cells[3].textContent = Number(d.cloud_cover).toFixed(1);
    tbody.appendChild(tr);
  }
  $("all-dates").checked = dates.length > 0;
  state.datesListed = true;
  $("dates").hidden = dates.length === 0;
  say("dates-msg", dates.length ? dates.length + " date(s) clear enough over the AOI, all ticked." : "No date is clear enough over the AOI in that window.", dates.length ? "ok" : "error");
}

/** The ticked dates, each once (a date on two MGRS tiles is one date of the job). */
export function tickedDates() {
  return [...new Set([...document.querySelectorAll("#dates tbody input:checked")].map((c) => c.value))];
}

export function onDatesChange(event) {
  if (event.target.id === "all-dates") {
    document.querySelectorAll("#dates tbody input").forEach((c) => (c.checked = event.target.checked));
  }
  emit("changed");
}
