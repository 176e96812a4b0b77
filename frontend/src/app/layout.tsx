import type { Metadata } from "next";
import type { ReactNode } from "react";

import { MeProvider } from "@/components/me";
import { TopBar } from "@/components/TopBar";

import "./globals.css";

export const metadata: Metadata = {
  title: "TraceFoundry",
  description: "Trace explorer for LLM agents",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <MeProvider>
          <TopBar />
          {children}
        </MeProvider>
      </body>
    </html>
  );
}
