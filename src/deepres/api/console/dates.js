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
    // A scene without a cloud mask is offered (as 100 %) only to a search that accepts 100 %:
    // say that its cloud is unknown rather than that the AOI is all cloud.
    if (d.cloud_cover_known === false) {
      tr.cells[3].textContent = "unknown (no SCL)";
      tr.cells[3].title = "the scene has no scene classification layer: its cloud cover over the AOI cannot be measured, so it counts as 100 %";
    } else tr.cells[3].textContent = Number(d.cloud_cover).toFixed(1);
    tbody.appendChild(tr);
  }
  $("all-dates").checked = dates.length > 0;
  state.datesListed = true;
  $("dates").hidden = dates.length === 0;
  if (dates.length) {
    const unknown = dates.filter((d) => d.cloud_cover_known === false).length;
    const note = unknown ? " (" + unknown + " with cloud cover unknown)" : "";
    say("dates-msg", dates.length + " date(s) within the max cloud over the AOI" + note + ", all ticked.", "ok");
  } else {
    // Say why the scenes seen over the AOI were not offered: the service lists each one.
    const why = (data.skipped || []).slice(0, 3).map((s) => s.date.slice(0, 10) + " " + (s.mgrs || "") + ": " + s.reason);
    const more = (data.skipped || []).length > 3 ? " …" : "";
    say("dates-msg", "No date is clear enough over the AOI in that window." + (why.length ? " Not offered: " + why.join("; ") + more : ""), "error");
  }
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
