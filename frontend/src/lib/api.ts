/**
 * Same-origin calls to the Django API: session cookie, CSRF token on unsafe methods, and errors turned into
 * one `ApiError` type the pages render (unreachable server, expired session, missing endpoint, bad filter).
 */

export type ApiErrorKind = "unreachable" | "unauthenticated" | "forbidden" | "not_found" | "bad_request" | "server";

export class ApiError extends Error {
  constructor(
    readonly kind: ApiErrorKind,
    readonly status: number,
    message: string,
    readonly parameter?: string,
    /** The parsed JSON error body, for answers that say more than `detail` (e.g. an import's 409). */
    readonly body?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export function csrfToken(cookie: string = typeof document === "undefined" ? "" : document.cookie): string {
  for (const part of cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === "csrftoken") return decodeURIComponent(rest.join("="));
  }
  return "";
}

function kindOf(status: number): ApiErrorKind {
  if (status === 401) return "unauthenticated";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status >= 400 && status < 500) return "bad_request";
  return "server";
}

async function errorOf(response: Response): Promise<ApiError> {
  let detail = `${response.status} ${response.statusText}`.trim();
  let parameter: string | undefined;
  let body: { detail?: unknown; parameter?: unknown } | undefined;
  const type = response.headers.get("content-type") ?? "";
  if (type.includes("json")) {
    try {
      body = (await response.json()) as { detail?: unknown; parameter?: unknown };
      if (typeof body.detail === "string") detail = body.detail;
      if (typeof body.parameter === "string") parameter = body.parameter;
    } catch {
      // A broken error body still leaves the status to report.
    }
  }
  return new ApiError(kindOf(response.status), response.status, detail, parameter, body);
}

export async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const method = (init.method ?? "GET").toUpperCase();
  const headers = new Headers(init.headers);
  headers.set("Accept", headers.get("Accept") ?? "application/json");
  if (!["GET", "HEAD", "OPTIONS"].includes(method)) headers.set("X-CSRFToken", csrfToken());
  let response: Response;
  try {
    response = await fetch(path, { ...init, method, headers, credentials: "same-origin", redirect: "manual" });
  } catch (error) {
    throw new ApiError("unreachable", 0, `The TraceFoundry server cannot be reached (${String(error)}).`);
  }
  // A redirect from the API means a login page answered instead of the API: the session is gone.
  if (response.type === "opaqueredirect") throw new ApiError("unauthenticated", 401, "Your session has expired.");
  if (!response.ok) throw await errorOf(response);
  return response;
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const response = await request(path, { signal });
  if (!(response.headers.get("content-type") ?? "").includes("json")) {
    throw new ApiError("server", response.status, `Expected JSON from ${path} but got something else.`);
  }
  return (await response.json()) as T;
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  const response = await request(path, {
    method: "POST",
    body: JSON.stringify(body ?? {}),
    headers: { "Content-Type": "application/json" },
  });
  return (await response.json()) as T;
}

export function loginUrl(next: string): string {
  return `/accounts/login/?next=${encodeURIComponent(next)}`;
}
