/**
 * Base URLs of the isnotai API, by region (`us`, `eu`); `us` is the default base URL of the
 * configuration (ISNOTAI_BASE_URL) and of the settings store.
 *
 * The documents say only "Base URL https://api.isnotai.com, Available Regions: 2 regions" without
 * naming the second one. We assume a US default and an EU host named like `eu.api.isnotai.com`; any
 * base URL can be configured instead (and must be, if the vendor names the second region differently).
 */
export const ISNOTAI_REGIONS = {
  us: 'https://api.isnotai.com',
  eu: 'https://eu.api.isnotai.com',
} as const;
