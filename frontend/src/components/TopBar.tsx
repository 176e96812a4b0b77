"use client";

import Link from "next/link";
import { useEffect, useState } from "react";

import { csrfToken, loginUrl } from "@/lib/api";

import { roleLabel, useMe } from "./me";

export function TopBar() {
  const { me, error, loading } = useMe();
  // The CSRF token is read after mount: the static HTML is the same for everyone.
  const [token, setToken] = useState("");
  const [here, setHere] = useState("/");
  useEffect(() => {
    setToken(csrfToken());
    setHere(window.location.pathname + window.location.search);
  }, []);
  const expired = error && (error.kind === "unauthenticated" || error.kind === "forbidden");
  return (
    <>
      <header className="topbar">
        <Link href="/" className="brand">
          TraceFoundry
        </Link>
        <nav>
          <Link href="/">Traces</Link>
          <Link href="/sessions/">Sessions</Link>
          <Link href="/dashboard/">Dashboard</Link>
          <Link href="/import/">Import</Link>
        </nav>
        <span className="spacer" />
        {me ? (
          <span data-testid="whoami">
            {me.username} <span className="badge">{roleLabel(me)}</span>
          </span>
        ) : loading ? null : (
          <span className="muted">not signed in</span>
        )}
        {me?.permissions.admin_site ? <a href="/admin/">Admin</a> : null}
        {me ? (
          <form method="post" action="/accounts/logout/">
            <input type="hidden" name="csrfmiddlewaretoken" value={token} />
            <button type="submit" className="linkish">
              Log out
            </button>
          </form>
        ) : null}
      </header>
      {expired ? (
        <div className="banner error" role="alert" data-testid="session-expired">
          Your session has expired or you are not signed in. <a href={loginUrl(here)}>Log in</a>
        </div>
      ) : error ? (
        <div className="banner warn" role="alert">
          Could not load your account ({error.status ? `HTTP ${error.status}: ` : ""}
          {error.message}). Actions that depend on your role are disabled.
        </div>
      ) : null}
    </>
  );
}
