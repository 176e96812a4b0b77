import { Suspense } from "react";

import { Loading } from "@/components/common";
import { CompareView } from "@/components/CompareView";

export default function ComparePage() {
  return (
    <Suspense fallback={<Loading what="the comparison" />}>
      <CompareView />
    </Suspense>
  );
}
