/** The SDK's version, recorded on the resource as `tracefoundry.sdk.version`. */
export const VERSION = "0.1.0";
