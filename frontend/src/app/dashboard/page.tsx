import { Suspense } from "react";

import { Loading } from "@/components/common";
import { Dashboard } from "@/components/Dashboard";

export default function DashboardPage() {
  return (
    <Suspense fallback={<Loading what="the dashboard" />}>
      <Dashboard />
    </Suspense>
  );
}
