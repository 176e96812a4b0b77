"use client";

/**
 * Who is logged in and what they may do, from `/api/me`, for the whole explorer. Every permission-dependent
 * control reads `usePermissions()`; when `/api/me` fails every permission is false and a banner says why.
 */

import { createContext, useContext, useEffect, useState, type ReactNode } from "react";

import { ApiError, getJson } from "@/lib/api";
import type { Me, Permissions } from "@/lib/api-types";

export const NO_PERMISSIONS: Permissions = {
  view_traces: false,
  read_payload_content: false,
  export_bundles: false,
  export_with_payloads: false,
  export_unredacted: false,
  import_bundles: false,
  dry_replay: false,
  admin_site: false,
};

interface MeState {
  me: Me | null;
  error: ApiError | null;
  loading: boolean;
}

const MeContext = createContext<MeState>({ me: null, error: null, loading: true });

export function MeProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<MeState>({ me: null, error: null, loading: true });
  useEffect(() => {
    const controller = new AbortController();
    getJson<Me>("/api/me", controller.signal)
      .then((me) => setState({ me, error: null, loading: false }))
      .catch((error: unknown) => {
        if (controller.signal.aborted) return;
        const apiError = error instanceof ApiError ? error : new ApiError("server", 0, String(error));
        setState({ me: null, error: apiError, loading: false });
      });
    return () => controller.abort();
  }, []);
  return <MeContext.Provider value={state}>{children}</MeContext.Provider>;
}

export function useMe(): MeState {
  return useContext(MeContext);
}

export function usePermissions(): Permissions {
  const { me } = useMe();
  return me?.permissions ?? NO_PERMISSIONS;
}

export function roleLabel(me: Me | null): string {
  if (!me) return "unknown role";
  if (me.role) return me.role;
  return me.is_superuser ? "superuser" : "no role";
}
