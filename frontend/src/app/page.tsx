import { Suspense } from "react";

import { Loading } from "@/components/common";
import { TraceList } from "@/components/TraceList";

export default function TracesPage() {
  return (
    <Suspense fallback={<Loading what="traces" />}>
      <TraceList />
    </Suspense>
  );
}
