import { Suspense } from "react";

import { Loading } from "@/components/common";
import { SessionList } from "@/components/SessionList";

export default function SessionsPage() {
  return (
    <Suspense fallback={<Loading what="sessions" />}>
      <SessionList />
    </Suspense>
  );
}
