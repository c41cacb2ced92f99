// A typed client of `pipeline serve` (service/assets/openapi.json) for a web
// application: fetch for the JSON API, EventSource for a run's live events.
// It runs in a browser and in any server runtime with fetch (Node 18+,
// Next.js route handlers, edge functions); it depends on nothing else.
//
// On a server, give it a service token. In a browser, give it nothing or the
// run's read token (prt_...), never a service token.

// ---- The API's types, one per schema of components/schemas ----------------

export type RunStatus =
  | "queued"
  | "running"
  | "retrying"
  | "completed"
  | "failed"
  | "incomplete"
  | "interrupted"
  | "cancelled";

export type Priority = "high" | "normal" | "low";

export type StageName = "mechanisms" | "signals" | "lessons" | "contextualize" | "opportunities";

export type StageNumber = 1 | 2 | 3 | 4 | 5;

export type JobState = "queued" | "running" | "done" | "failed" | "dead" | "cancelled";

/** Paths of a run's resources, relative to the server (RunLinks). */
export interface RunLinks {
  self: string;
  events: string;
  report_html: string;
  report_pdf: string;
  report_md: string;
  opportunities: string;
}

export interface Brand {
  id: string;
  /** The profile's company_name. */
  name: string;
}

export interface BrandList {
  brands: Brand[];
}

/** The run's brand; name is null until a worker has made a run from a source URL. */
export interface RunBrand {
  id: string;
  name: string | null;
}

export interface RunDocument {
  /** The uploaded file's name or the source URL. */
  source: string;
  /** Null until a worker has read a source URL. */
  pages: number | null;
  /** The PDF's title; null until the document is read. */
  title: string | null;
}

/** Tokens and money; cost_usd is null when neither the provider nor a price list gave one. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number | null;
}

export interface Stage {
  number: StageNumber;
  name: StageName;
  status: "pending" | "running" | "done" | "failed";
  started_at: string | null;
  finished_at: string | null;
  duration_s: number | null;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number | null;
  model: string | null;
  warnings: string[];
}

export interface RunSummary {
  run_id: string;
  status: RunStatus;
  brand: RunBrand | null;
  document: RunDocument | null;
  created_at: string;
  updated_at: string;
  links: RunLinks;
}

export interface Run extends RunSummary {
  stages: Stage[];
  usage: Usage;
  error: { kind: string; message: string } | null;
  job: { state: JobState; attempts: number; priority: Priority } | null;
}

export interface RunList {
  runs: RunSummary[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
}

export interface RunCreated {
  run_id: string;
  status: "queued";
  /** Reads this run and nothing else until read_token_expires_at; null when the server has no tokens. */
  read_token: string | null;
  read_token_expires_at: string | null;
  links: RunLinks;
}

/** The answer to cancel and retry (RunAccepted). */
export interface RunAccepted {
  run_id: string;
  status: RunStatus;
}

export type ProblemSlug =
  | "invalid-request"
  | "unauthorized"
  | "forbidden"
  | "not-found"
  | "method-not-allowed"
  | "conflict"
  | "payload-too-large"
  | "unsupported-media-type"
  | "unprocessable"
  | "idempotency-key-reused"
  | "internal"
  | "too-many-streams"
  | "not-ready";

/** An RFC 9457 problem document, the body of every error answer. */
export interface Problem {
  type: `urn:pipeline:problem:${ProblemSlug}`;
  title: string;
  status: number;
  detail: string;
  instance?: string;
}

/** The event names a run's log holds; the SSE message's `event:` line. */
export const runEventNames = [
  "run_started",
  "stage_started",
  "stage_waiting",
  "stage_retry",
  "stage_part_done",
  "stage_done",
  "stage_failed",
  "run_finished",
  "webhook_delivered",
  "webhook_failed",
  "webhook_gave_up",
] as const;

export type RunEventName = (typeof runEventNames)[number];

/** Tokens and cost in an event; tokens are null when the provider reported none. */
export interface EventUsage {
  prompt_tokens?: number | null;
  completion_tokens?: number | null;
  cached_tokens?: number | null;
  reasoning_tokens?: number | null;
  cost_usd?: number | null;
}

/**
 * One event of a run (the Event schema; named RunEvent here because the DOM
 * has an Event of its own). Which optional fields come depends on `event`.
 */
export interface RunEvent {
  event: RunEventName | (string & {});
  run_id: string;
  time: string;
  stage?: StageNumber;
  name?: StageName;
  attempt?: unknown;
  part?: string;
  duration_s?: number;
  usage?: EventUsage;
  cached?: boolean;
  model?: string;
  warnings?: string[];
  /** run_finished: the run's status. */
  status?: RunStatus;
  error?: string;
  error_kind?: string;
}

// ---- Errors ----------------------------------------------------------------

/** A non-2xx answer, with its problem document when the server sent one. */
export class PipelineError extends Error {
  readonly status: number;
  readonly problem: Problem | null;

  constructor(status: number, problem: Problem | null, fallback: string) {
    super(problem ? `${problem.title}: ${problem.detail}` : fallback);
    this.name = "PipelineError";
    this.status = status;
    this.problem = problem;
  }

  /** The problem's slug, e.g. "not-found"; null without a problem document. */
  get slug(): ProblemSlug | null {
    return this.problem ? (this.problem.type.slice("urn:pipeline:problem:".length) as ProblemSlug) : null;
  }
}

// ---- The client ------------------------------------------------------------

export interface ClientOptions {
  /** Where pipeline serve answers, e.g. "http://127.0.0.1:8080". */
  baseUrl: string;
  /** A service token (servers only) or a run's read token; omit when the server has no tokens. */
  token?: string | null;
  /** A fetch to use instead of the global one (tests, instrumentation). */
  fetch?: typeof fetch;
}

/** What a run is made from: an upload, or a URL the worker downloads. */
export type RunSource = { file: Blob; filename?: string } | { sourceUrl: string };

export interface CreateRunOptions {
  brand: string;
  priority?: Priority;
  /** A URL to post the run's webhooks to. */
  notify?: string;
  runId?: string;
  /**
   * Makes the call safe to repeat: the same key with the same request gets
   * the first answer again and creates nothing new (kept 24 h). Make one per
   * upload, e.g. crypto.randomUUID(), and reuse it when retrying.
   */
  idempotencyKey?: string;
}

export interface ListRunsOptions {
  status?: RunStatus;
  /** 1 to 100; the server's default is 20. */
  limit?: number;
  cursor?: string;
}

/** What followEvents() calls; every handler is optional. */
export interface EventHandlers {
  /** Every event, in the order of the run's log, each once; `sequence` is its SSE id. */
  onEvent?: (event: RunEvent, sequence: number) => void;
  /** Events of one name, e.g. { stage_done: (event) => ... }. */
  on?: Partial<Record<RunEventName, (event: RunEvent, sequence: number) => void>>;
  /** The run is final (completed, failed or cancelled, or its job is dead) and the stream is closed. */
  onEnd?: (run: Run | null) => void;
  /**
   * The stream broke. With `retrying` true, EventSource reconnects by itself
   * and resumes after the last event (Last-Event-ID); with false it gave up
   * (a 401, 403 or 404: e.g. the read token expired) and the stream is closed.
   */
  onError?: (info: { retrying: boolean }) => void;
}

/** Stops following; safe to call more than once. */
export type StopFollowing = () => void;

const finalRunStatuses: ReadonlySet<RunStatus> = new Set<RunStatus>(["completed", "failed", "cancelled"]);
const finalJobStates: ReadonlySet<JobState> = new Set<JobState>(["done", "failed", "dead", "cancelled"]);

/** True when nothing more will happen to the run unless someone retries it. */
export function isFinal(run: Run): boolean {
  if (run.job) return finalJobStates.has(run.job.state);
  return finalRunStatuses.has(run.status);
}

export class PipelineClient {
  private readonly baseUrl: string;
  private readonly token: string | null;
  private readonly fetchFn: typeof fetch;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.token = options.token ?? null;
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** Starts a run from an upload or a URL; answers at once (202) with its id, links and read token. */
  async createRun(source: RunSource, options: CreateRunOptions): Promise<RunCreated> {
    const headers: Record<string, string> = {};
    if (options.idempotencyKey !== undefined) headers["Idempotency-Key"] = options.idempotencyKey;
    let body: FormData | string;
    if ("file" in source) {
      const form = new FormData();
      form.set("file", source.file, source.filename ?? (source.file instanceof File ? source.file.name : "document.pdf"));
      form.set("brand", options.brand);
      if (options.priority) form.set("priority", options.priority);
      if (options.notify) form.set("notify", options.notify);
      if (options.runId) form.set("run_id", options.runId);
      body = form; // fetch sets multipart/form-data with its boundary
    } else {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify({
        source_url: source.sourceUrl,
        brand: options.brand,
        priority: options.priority,
        notify: options.notify,
        run_id: options.runId,
      });
    }
    return this.request<RunCreated>("POST", "/v1/runs", { body, headers });
  }

  getRun(runId: string): Promise<Run> {
    return this.request<Run>("GET", runPath(runId));
  }

  /** Runs newest first, one page; follow next_cursor for more. */
  listRuns(options: ListRunsOptions = {}): Promise<RunList> {
    const query = new URLSearchParams();
    if (options.status) query.set("status", options.status);
    if (options.limit !== undefined) query.set("limit", String(options.limit));
    if (options.cursor) query.set("cursor", options.cursor);
    const text = query.toString();
    return this.request<RunList>("GET", text ? `/v1/runs?${text}` : "/v1/runs");
  }

  /** Cancels the run's job; a PipelineError with slug "conflict" when the run is already final. */
  cancelRun(runId: string): Promise<RunAccepted> {
    return this.request<RunAccepted>("POST", `${runPath(runId)}/cancel`);
  }

  /** Queues the run again, from its first stage not done or from `fromStage`. */
  retryRun(runId: string, fromStage?: StageNumber): Promise<RunAccepted> {
    const init =
      fromStage === undefined
        ? {}
        : { body: JSON.stringify({ from_stage: fromStage }), headers: { "Content-Type": "application/json" } };
    return this.request<RunAccepted>("POST", `${runPath(runId)}/retry`, init);
  }

  listBrands(): Promise<BrandList> {
    return this.request<BrandList>("GET", "/v1/brands");
  }

  /**
   * The absolute URL of one of a run's links, with `token` as ?access_token=
   * when given: for an <a href> or <iframe> to report.html, which cannot send
   * an Authorization header. Use a read token here, never a service token.
   */
  linkUrl(link: string, token: string | null = null): string {
    const url = new URL(link, this.baseUrl + "/");
    if (token) url.searchParams.set("access_token", token);
    return url.toString();
  }

  /**
   * Follows a run's events live with EventSource, history first. `token` is
   * the run's read token (null when the server has none); it travels as
   * ?access_token= because EventSource cannot set headers. After a dropped
   * connection EventSource reconnects by itself and sends Last-Event-ID, and
   * the server goes on after that event: none is lost or repeated.
   */
  followEvents(runId: string, token: string | null, handlers: EventHandlers): StopFollowing {
    const source = new EventSource(this.linkUrl(`${runPath(runId)}/events`, token));
    let lastSequence = 0;
    let stopped = false;
    const stop = (): void => {
      stopped = true;
      source.close();
    };
    const end = (run: Run | null): void => {
      if (stopped) return;
      stop();
      handlers.onEnd?.(run);
    };

    const deliver = (message: MessageEvent<string>): void => {
      const sequence = Number(message.lastEventId);
      // The server sends each event once; this guard only keeps a handler
      // from seeing one twice should a proxy replay a stream.
      if (Number.isInteger(sequence) && sequence <= lastSequence) return;
      if (Number.isInteger(sequence)) lastSequence = sequence;
      const event = JSON.parse(message.data) as RunEvent;
      handlers.onEvent?.(event, sequence);
      handlers.on?.[message.type as RunEventName]?.(event, sequence);
      if (event.event === "run_finished" && event.status !== undefined && finalRunStatuses.has(event.status)) {
        end(null);
      }
    };
    // Messages with an `event:` line reach only listeners of that name, not onmessage.
    for (const name of runEventNames) source.addEventListener(name, deliver);

    source.onerror = () => {
      if (stopped) return;
      if (source.readyState === EventSource.CLOSED) {
        stopped = true;
        handlers.onError?.({ retrying: false });
        return;
      }
      // The server ends the stream once the run is final; EventSource would
      // reconnect forever, so ask whether the run is final before it does.
      handlers.onError?.({ retrying: true });
      new PipelineClient({ baseUrl: this.baseUrl, token, fetch: this.fetchFn })
        .getRun(runId)
        .then((run) => {
          if (isFinal(run)) end(run);
        })
        .catch(() => {
          // Unknown: let EventSource try again.
        });
    };
    return stop;
  }

  private async request<T>(
    method: string,
    path: string,
    init: { body?: BodyInit; headers?: Record<string, string> } = {},
  ): Promise<T> {
    const headers = new Headers(init.headers);
    headers.set("Accept", "application/json");
    if (this.token) headers.set("Authorization", `Bearer ${this.token}`);
    const requestInit: RequestInit = { method, headers };
    if (init.body !== undefined) requestInit.body = init.body;
    const response = await this.fetchFn(this.baseUrl + path, requestInit);
    if (!response.ok) throw await errorOf(response);
    return (await response.json()) as T;
  }
}

function runPath(runId: string): string {
  return `/v1/runs/${encodeURIComponent(runId)}`;
}

async function errorOf(response: Response): Promise<PipelineError> {
  const fallback = `HTTP ${response.status} ${response.statusText}`;
  const type = response.headers.get("Content-Type") ?? "";
  if (!type.startsWith("application/problem+json")) return new PipelineError(response.status, null, fallback);
  try {
    return new PipelineError(response.status, (await response.json()) as Problem, fallback);
  } catch {
    return new PipelineError(response.status, null, fallback);
  }
}
