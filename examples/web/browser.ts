// The browser's side: post the form to this app's own route (app/api/runs),
// then follow the run straight from pipeline serve with the run's read token,
// and link the report when it is done. The page needs
//
//   <form id="start-run"><input type="file" name="file" accept="application/pdf">
//     <input name="brand" value="hollowmere-dairy"><button>Analyse</button></form>
//   <ol id="stages"></ol> <p id="status"></p> <a id="report" hidden>Open the report</a>

import { PipelineClient, PipelineError, type Problem, type RunEvent } from "./pipeline-client";
import type { StartedRun } from "./app/api/runs/route";

/** Where the browser reaches pipeline serve (which lists this app in --cors-origin). */
const pipelineUrl = "https://pipeline.example.com";

function element<T extends HTMLElement>(selector: string): T {
  const found = document.querySelector<T>(selector);
  if (!found) throw new Error(`the page has no ${selector}`);
  return found;
}

const form = element<HTMLFormElement>("#start-run");
const stages = element<HTMLOListElement>("#stages");
const status = element<HTMLParagraphElement>("#status");
const report = element<HTMLAnchorElement>("#report");

form.addEventListener("submit", (submit) => {
  submit.preventDefault();
  void start(new FormData(form));
});

async function start(fields: FormData): Promise<void> {
  status.textContent = "Uploading…";
  // One key per upload: a second click, or the browser retrying, starts one run.
  const response = await fetch("/api/runs", {
    method: "POST",
    body: fields,
    headers: { "Idempotency-Key": crypto.randomUUID() },
  });
  if (!response.ok) {
    const problem = (await response.json()) as Problem;
    status.textContent = problem.detail;
    return;
  }
  const run = (await response.json()) as StartedRun;
  status.textContent = "Queued";

  // The read token reads this run and nothing else; it is all the browser holds.
  const pipeline = new PipelineClient({ baseUrl: pipelineUrl, token: run.read_token });
  pipeline.followEvents(run.run_id, run.read_token, {
    on: {
      stage_started: (event) => showStage(event, "running"),
      stage_done: (event) => showStage(event, event.duration_s === undefined ? "done" : `done in ${event.duration_s.toFixed(1)} s`),
      stage_failed: (event) => showStage(event, `failed: ${event.error ?? "unknown error"}`),
      stage_retry: (event) => showStage(event, "retrying"),
    },
    onEnd: () => void finish(pipeline, run),
    onError: ({ retrying }) => {
      status.textContent = retrying ? "Connection lost, reconnecting…" : "Progress is no longer available.";
    },
  });
}

function showStage(event: RunEvent, text: string): void {
  if (event.stage === undefined) return;
  const id = `stage-${event.stage}`;
  let item = document.getElementById(id);
  if (!item) {
    item = document.createElement("li");
    item.id = id;
    stages.append(item);
  }
  // textContent, never innerHTML: event fields come from a model's run.
  item.textContent = `${event.name ?? `stage ${event.stage}`}: ${text}`;
}

async function finish(pipeline: PipelineClient, run: StartedRun): Promise<void> {
  try {
    const state = await pipeline.getRun(run.run_id);
    const cost = state.usage.cost_usd === null ? "" : `, $${state.usage.cost_usd.toFixed(4)}`;
    status.textContent = `${state.status}${cost}`;
    if (state.status === "completed") {
      // A link cannot send a header, so the read token rides in the URL.
      report.href = pipeline.linkUrl(run.links.report_html, run.read_token);
      report.hidden = false;
    }
  } catch (error) {
    status.textContent = error instanceof PipelineError ? error.message : "The run's state could not be read.";
  }
}
