import { Suspense } from "react";

import { Loading } from "@/components/common";
import { SessionView } from "@/components/SessionView";

export default function SessionPage() {
  return (
    <Suspense fallback={<Loading what="the session" />}>
      <SessionView />
    </Suspense>
  );
}
