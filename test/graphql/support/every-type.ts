import { DEV_GROUPS_CLAIM } from '../../../src/sso/dev-idp/dev-identity-provider';
import {
  CreateGroupDocument,
  CreateGroupMappingRuleDocument,
  CreateLanguageDocument,
  CreateProvisioningTokenDocument,
  CreateTweetDocument,
  GroupMappingRulesDocument,
  LogEntriesDocument,
  LoginDocument,
  MyAccountDocument,
  RevokeProvisioningTokenDocument,
  SetGroupPermissionsDocument,
  SetUserGroupsDocument,
  SetUserPermissionsDocument,
  UpdateTweetDocument,
} from '../../generated/graphql';
import { Browser } from '../../support/browser';
import { signInThroughDevIdpOverHttp } from '../../support/dev-idp-sign-in';
import { graphqlClient, type GraphQLResponse } from '../../support/graphql-client';
import type { Fixtures } from './every-field';

/** The directory group of carl.sagan in the development IdP's directory.json, which the seeded rules map onto `support`. */
const DIRECTORY_GROUP = 'B2E_APP_MANAGEMENT_SUPPORT';
/** Held by carl.sagan directly, through `support` (a single sign-on rule) and through an admin's group. */
const PERMISSION = 'core.view_tweet';

/** A running `gatehouse serve` with its development identity provider (test/support/gatehouse-process.ts). */
export interface ServedGatehouse {
  url: string;
  /** Its public URL, `http://localhost:<port>`: where the provider sends the browser back. */
  publicUrl: string;
  idpUrl: string;
}

function data<T>(result: GraphQLResponse<T>, what: string): T {
  if (result.errors || !result.data) throw new Error(`${what} failed: ${result.status} ${JSON.stringify(result.errors)}`);
  return result.data;
}

/** Signs in with a password through the `login` mutation and returns the session token. */
export async function signInWithPassword(url: string, username: string, password: string): Promise<string> {
  return data(await graphqlClient(url)(LoginDocument, { username, password }), `login of ${username}`).login.token;
}

/**
 * Rows of every type, made over HTTP as clients make them, on whichever database the service
 * runs: a single sign-on user (carl.sagan, through the development IdP: an identity, a session,
 * a rule membership, the claims of his last sign-in) who is also in an admin's group and holds a
 * permission directly; tweets and languages with their log entries; mapping rules; a live
 * provisioning token that has been used and a revoked one. `token` is a superuser's session,
 * which the log entries and the tokens name. Returns what the every-field walk looks rows up by.
 */
export async function makeRowsOfEveryType(gatehouse: ServedGatehouse, token: string): Promise<Fixtures> {
  const graphql = graphqlClient(gatehouse.url);
  const browser = new Browser();
  await signInThroughDevIdpOverHttp(browser, gatehouse.publicUrl, gatehouse.idpUrl, 'carl.sagan', 'cosmos');
  const asCarl = graphqlClient(gatehouse.publicUrl, { transport: (url, init) => browser.request(url, init) });
  const carl = data(await asCarl(MyAccountDocument), 'me of carl.sagan').me!.user;

  const group = data(await graphql(CreateGroupDocument, { input: { name: 'every field' } }, token), 'createGroup').createGroup;
  data(
    await graphql(SetGroupPermissionsDocument, { id: group.id, permissions: [PERMISSION, 'core.view_language'] }, token),
    'setGroupPermissions',
  );
  data(await graphql(SetUserGroupsDocument, { id: carl.id, groupIds: [group.id] }, token), 'setUserGroups');
  data(await graphql(SetUserPermissionsDocument, { id: carl.id, permissions: [PERMISSION] }, token), 'setUserPermissions');
  // The superuser too, so that what hangs off `me` and off the log entries' author has rows.
  const root = data(await graphql(MyAccountDocument, {}, token), 'me of the superuser').me!.user;
  data(await graphql(SetUserGroupsDocument, { id: root.id, groupIds: [group.id] }, token), 'setUserGroups of the superuser');
  data(await graphql(SetUserPermissionsDocument, { id: root.id, permissions: [PERMISSION] }, token), 'setUserPermissions of the superuser');
  const proposed = data(await graphql(CreateGroupDocument, { input: { name: 'every field, proposed' } }, token), 'createGroup').createGroup;

  const tweet = data(
    await graphql(
      CreateTweetDocument,
      { input: { screenName: 'gatehouse', tweetId: '1460323737035677698', whenTweetWasCreated: '2021-11-15T18:00:00.000Z' } },
      token,
    ),
    'createTweet',
  ).createTweet;
  data(await graphql(UpdateTweetDocument, { id: tweet.id, input: { screenName: 'gatehouse_dev' } }, token), 'updateTweet');
  const language = data(
    await graphql(
      CreateLanguageDocument,
      { input: { languageTag: 'en-GB', language: 'English', accentOrDialect: 'British', family: 'Indo-European' } },
      token,
    ),
    'createLanguage',
  ).createLanguage;

  data(
    await graphql(
      CreateGroupMappingRuleDocument,
      { input: { pattern: '*@gatehouse.dev', matchType: 'GLOB' as never, claim: 'email', description: 'every field', groupId: group.id } },
      token,
    ),
    'createGroupMappingRule',
  );
  const rules = data(await graphql(GroupMappingRulesDocument, { first: 50 }, token), 'groupMappingRules').groupMappingRules.edges;
  const carlsRule = rules.find((edge) => edge.node.pattern === DIRECTORY_GROUP)?.node;
  if (!carlsRule) throw new Error(`no mapping rule for ${DIRECTORY_GROUP}: the development IdP's seed is expected`);

  const created = async (description: string) =>
    data(
      await graphql(CreateProvisioningTokenDocument, { input: { description, issuer: gatehouse.idpUrl } }, token),
      'createProvisioningToken',
    ).createProvisioningToken;
  const live = await created('every field, live');
  const used = await fetch(`${gatehouse.url}/scim/v2/Users`, { headers: { authorization: `Bearer ${live.secret}` } });
  if (used.status !== 200) throw new Error(`the provisioning token was refused: ${used.status} ${await used.text()}`);
  const revoked = await created('every field, revoked');
  data(await graphql(RevokeProvisioningTokenDocument, { id: revoked.provisioningToken.id }, token), 'revokeProvisioningToken');

  // A change the superuser made: an entry with an author, so that what hangs off `LogEntry.user` has rows.
  const change = data(await graphql(LogEntriesDocument, { first: 1, filter: { userId: root.id } }, token), 'logEntries').logEntries.edges[0]
    ?.node;
  if (!change) throw new Error('the superuser’s changes left no log entry');

  return {
    ids: new Map([
      ['User', carl.id],
      ['LogEntry', change.id],
      ['Group', group.id],
      ['Tweet', tweet.id],
      ['Language', language.id],
      ['GroupMappingRule', carlsRule.id],
      ['ProvisioningToken', live.provisioningToken.id],
    ]),
    permission: PERMISSION,
    claims: { [DEV_GROUPS_CLAIM]: [DIRECTORY_GROUP], email: 'carl.sagan@gatehouse.dev' },
    // Carl's rule moved to another group: he would lose `support` and gain that one.
    proposedRule: { id: carlsRule.id, pattern: DIRECTORY_GROUP, groupId: proposed.id },
  };
}
