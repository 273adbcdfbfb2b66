import type { Config } from './env';

/**
 * The development defaults in force that would be unsafe in production, each as one phrase
 * saying what to set instead. Gatehouse logs them in one warning at start; production refuses
 * the embedded database and the development identity provider outright (see env.ts and the
 * development IdP).
 */
export function insecureDefaults(config: Config): string[] {
  const found: string[] = [];
  if (!config.DATABASE_URL) found.push('the embedded database is in use: one process, files in DATA_DIR (set DATABASE_URL)');
  if (!config.PUBLIC_URL.startsWith('https://'))
    found.push(`PUBLIC_URL is ${config.PUBLIC_URL}: session cookies are not Secure (serve Gatehouse over https)`);
  if (config.NODE_ENV !== 'production')
    found.push('introspection and the Apollo Sandbox landing page are on, and schema hints are shown in errors (NODE_ENV=production)');
  if (config.NODE_ENV === 'development' && !config.OIDC_ISSUER)
    found.push('the built-in development identity provider signs in anyone who can reach it (set OIDC_ISSUER)');
  return found;
}

/**
 * The settings in force that relax a check of single sign-on, each as one phrase: legitimate in
 * production where the provider warrants them, and logged at every start so nobody forgets them.
 */
export function relaxedChecks(config: Config): string[] {
  const found: string[] = [];
  if (config.SSO_LINK_BY_EMAIL)
    found.push(
      "SSO_LINK_BY_EMAIL is on: a first single sign-on may link to an existing account on the provider's word that the e-mail is verified",
    );
  if (config.OIDC_GROUPS_CLAIM_ALLOW_STRING)
    found.push('OIDC_GROUPS_CLAIM_ALLOW_STRING is on: a groups claim that is a single string counts as a list of one');
  return found;
}
