import { ImportBundle } from "@/components/ImportBundle";

export default function ImportPage() {
  return <ImportBundle />;
}
