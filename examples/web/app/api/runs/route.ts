// POST /api/runs in a Next.js App Router app (app/api/runs/route.ts): the
// browser posts its form here, this route starts the run on pipeline serve
// with the service token, and hands the browser back only what it needs to
// follow that one run: its id, its links and its read token.
//
// Environment (server side only; nothing here is NEXT_PUBLIC_):
//   PIPELINE_URL            where this server reaches pipeline serve
//   PIPELINE_PUBLIC_URL     where browsers reach it, default PIPELINE_URL (serve
//                           runs with --cors-origin <this app's origin>)
//   PIPELINE_SERVICE_TOKEN  a service token of pipeline serve
//
// The form has `brand` and either `file` (the PDF) or `source_url` (a PDF the
// browser put in object storage first: hosts cap what a function may receive,
// Vercel at 4.5 MB, below many PDFs).

import { PipelineClient, PipelineError, type RunLinks, type RunSource } from "../../../pipeline-client";

/** What the browser gets: enough to follow its run, no service token. */
export interface StartedRun {
  run_id: string;
  /** Absolute URLs on pipeline serve. */
  links: RunLinks;
  read_token: string | null;
  read_token_expires_at: string | null;
}

export async function POST(request: Request): Promise<Response> {
  const baseUrl = process.env.PIPELINE_URL;
  if (!baseUrl) return problem(500, "Internal Server Error", "PIPELINE_URL is not set");
  const publicUrl = process.env.PIPELINE_PUBLIC_URL ?? baseUrl;

  // A real app checks its own user's session here, before spending model money.

  let form: FormData;
  try {
    form = await request.formData();
  } catch {
    return problem(400, "Bad Request", "send the form as multipart/form-data");
  }
  const brand = form.get("brand");
  const file = form.get("file");
  const sourceUrl = form.get("source_url");
  if (typeof brand !== "string" || brand === "") return problem(400, "Bad Request", "choose a brand");
  let source: RunSource;
  if (file instanceof File && file.size > 0) {
    source = { file, filename: file.name };
  } else if (typeof sourceUrl === "string" && sourceUrl !== "") {
    source = { sourceUrl };
  } else {
    return problem(400, "Bad Request", "upload a PDF or give its URL");
  }

  const pipeline = new PipelineClient({ baseUrl, token: process.env.PIPELINE_SERVICE_TOKEN ?? null });
  // The browser's key makes a double click or a retried request start one
  // run, not two. Keys are shared by everyone using this service token: a
  // real app puts its user's id in front, so one user's key never answers
  // another's request.
  const idempotencyKey = request.headers.get("Idempotency-Key");
  try {
    const created = await pipeline.createRun(source, {
      brand,
      ...(idempotencyKey ? { idempotencyKey } : {}),
    });
    const links = absoluteLinks(created.links, publicUrl);
    const started: StartedRun = {
      run_id: created.run_id,
      links,
      read_token: created.read_token,
      read_token_expires_at: created.read_token_expires_at,
    };
    return Response.json(started, { status: 202, headers: { Location: links.self } });
  } catch (error) {
    if (error instanceof PipelineError && error.problem && error.status < 500 && error.status !== 401 && error.status !== 403) {
      // The user's own mistake (a broken PDF, an unknown brand, too large):
      // pass the problem on, it names nothing secret.
      return Response.json(error.problem, {
        status: error.status,
        headers: { "Content-Type": "application/problem+json" },
      });
    }
    // 401/403 mean this server's token is wrong, 5xx that pipeline is down:
    // neither is the browser's business beyond "try again later".
    console.error("starting a run failed:", error);
    return problem(502, "Bad Gateway", "the analysis service is unavailable; try again later");
  }
}

function absoluteLinks(links: RunLinks, base: string): RunLinks {
  const absolute = (path: string): string => new URL(path, base).toString();
  return {
    self: absolute(links.self),
    events: absolute(links.events),
    report_html: absolute(links.report_html),
    report_pdf: absolute(links.report_pdf),
    report_md: absolute(links.report_md),
    opportunities: absolute(links.opportunities),
  };
}

// This route's own errors, as problem documents too so that the browser reads
// one shape; "about:blank" says they mean no more than their status (RFC 9457).
function problem(status: number, title: string, detail: string): Response {
  return Response.json(
    { type: "about:blank", title, status, detail },
    { status, headers: { "Content-Type": "application/problem+json" } },
  );
}
