/**
 * SCIM's error response (RFC 7644 §3.12): every refusal of /scim/v2 is one of these, written as
 * `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400", "scimType":
 * "invalidFilter", "detail": "…"}`. `detail` names the attribute or value at fault and never
 * carries database text; a client's mistake is never a 500.
 */

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** RFC 7644 §3.12, Table 9. */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive';

export class ScimError extends Error {
  constructor(
    readonly status: number,
    readonly scimType: ScimType | null,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'ScimError';
  }

  /** The response body. */
  toJSON(): Record<string, unknown> {
    return {
      schemas: [ERROR_SCHEMA],
      status: String(this.status),
      ...(this.scimType ? { scimType: this.scimType } : {}),
      detail: this.detail,
    };
  }
}

export const invalidValue = (detail: string) => new ScimError(400, 'invalidValue', detail);
export const invalidSyntax = (detail: string) => new ScimError(400, 'invalidSyntax', detail);
export const invalidPath = (detail: string) => new ScimError(400, 'invalidPath', detail);
export const invalidFilter = (detail: string) => new ScimError(400, 'invalidFilter', detail);
export const mutability = (detail: string) => new ScimError(400, 'mutability', detail);
export const noTarget = (detail: string) => new ScimError(400, 'noTarget', detail);
export const uniqueness = (detail: string) => new ScimError(409, 'uniqueness', detail);
export const resourceNotFound = (type: 'User' | 'Group', id: string) => new ScimError(404, null, `${type} ${id} not found`);
