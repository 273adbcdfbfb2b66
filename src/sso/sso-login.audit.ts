import type { EntityManager } from '@mikro-orm/postgresql';
import { createHash } from 'node:crypto';
import { ActionFlag, LogEntry, LogEvent } from '../audit/log-entry.entity';
import type { User } from '../users/user.entity';
import type { GroupsClaimProblem, RuleMatch } from './mapping';

/** What the admin log records of one single sign-on attempt, allowed or refused. */
export interface SignInAuditEntry {
  outcome: 'allowed' | 'refused';
  reason: string;
  user: User | null;
  issuer: string;
  subject: string;
  via: string;
  /** `claimsDigest` of the claims presented. */
  digest: string;
  groupsClaimProblem: GroupsClaimProblem | null;
  rulesMatched: RuleMatch[];
  groupsAdded: string[];
  groupsRemoved: string[];
  created: boolean;
  /** Sessions a refusal ended (`revokeAccess`); absent when it revoked nothing. */
  sessionsEnded?: number;
}

/**
 * Records a sign-in attempt in the admin log (app `sso`, model `login`): the outcome and reason,
 * the rules matched, the groups added and removed and a digest of the claims — never a token.
 * Persisted with `em`'s transaction, not flushed.
 */
export function writeSignInAudit(em: EntityManager, entry: SignInAuditEntry): void {
  // Not through logChange: the sign-in is an event of app `sso` with no registered model behind it.
  em.create(LogEntry, {
    // The actor: the person signing in once allowed; nobody for a refusal.
    user: entry.outcome === 'allowed' ? entry.user : null,
    appLabel: 'sso',
    model: 'login',
    objectId: entry.user?.id === undefined ? null : String(entry.user.id),
    objectRepr: (entry.user?.username ?? `${entry.subject} at ${entry.issuer}`).slice(0, 200),
    actionFlag: entry.created ? ActionFlag.ADDITION : ActionFlag.CHANGE,
    // A sign-in is an event, kept AUDIT_SIGNIN_RETENTION_DAYS; a refresh or bearer token that
    // changed someone's groups is a change of the directory, kept with the admin history.
    event: entry.via === 'login' ? LogEvent.SIGN_IN : null,
    changeMessage: [
      {
        sso_login: {
          outcome: entry.outcome,
          reason: entry.reason,
          via: entry.via,
          issuer: entry.issuer,
          subject: entry.subject,
          groupsClaimProblem: entry.groupsClaimProblem,
          rulesMatched: entry.rulesMatched.map(describeMatch),
          groupsAdded: entry.groupsAdded,
          groupsRemoved: entry.groupsRemoved,
          claimsDigest: entry.digest,
          ...(entry.sessionsEnded !== undefined ? { sessionsEnded: entry.sessionsEnded } : {}),
        },
      },
    ],
  });
}

function describeMatch(match: RuleMatch): Record<string, unknown> {
  return { rule: match.rule.id, claim: match.claim, value: match.value, group: match.rule.group.name };
}

/** SHA-256 (hex) of the claims as canonical JSON (keys sorted): tells two attempts apart without storing them. */
export function claimsDigest(claims: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(claims)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
