import type { NextConfig } from "next";

// The explorer ships as static files that Django serves at `/` (same origin, session cookie + CSRF).
// `pnpm dev` is the only place a Node server runs: there the API, login and admin are proxied to Django.
// Rewrites are not allowed with `output: "export"`, so they exist only in development.
const isDev = process.env.NODE_ENV === "development";
const djangoOrigin = process.env.DJANGO_ORIGIN ?? "http://127.0.0.1:8000";

const config: NextConfig = {
  reactStrictMode: true,
  images: { unoptimized: true },
  // `pnpm lint` runs ESLint on its own (and in `make lint`); no need to run it twice per build.
  eslint: { ignoreDuringBuilds: true },
  ...(isDev
    ? {
        // Django's URLs end in a slash for /accounts/ and /admin/ but not for /api/; keep paths as sent.
        skipTrailingSlashRedirect: true,
        async rewrites() {
          return ["api", "accounts", "admin", "static", "otlp"].flatMap((prefix) => [
            { source: `/${prefix}/:path*/`, destination: `${djangoOrigin}/${prefix}/:path*/` },
            { source: `/${prefix}/:path*`, destination: `${djangoOrigin}/${prefix}/:path*` },
          ]);
        },
      }
    : { output: "export" as const, trailingSlash: true }),
};

export default config;
