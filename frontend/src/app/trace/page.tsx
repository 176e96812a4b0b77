import { Suspense } from "react";

import { Loading } from "@/components/common";
import { TraceView } from "@/components/TraceView";

export default function TracePage() {
  return (
    <Suspense fallback={<Loading what="the trace" />}>
      <TraceView />
    </Suspense>
  );
}
