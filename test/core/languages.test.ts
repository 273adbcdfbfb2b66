import { ActionFlag, LogEntry } from '../../src/audit/log-entry.entity';
import { Language } from '../../src/core/language.entity';
import {
  CreateLanguageDocument as CREATE,
  DeleteLanguageDocument as DELETE,
  LanguageDocument as ONE,
  UpdateLanguageDocument as UPDATE,
} from '../generated/graphql';
import { startTestServer, type TestServer } from '../support/server';
import { globalIdOf, keyOf } from '../support/global-ids';

describe('core.Language CRUD', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());
  const em = () => server.db.orm.em.fork();

  async function makeLanguage(languageTag: string, extra: Partial<Language> = {}) {
    const language = em().create(Language, { languageTag, ...extra });
    await em().persistAndFlush(language);
    return language;
  }
  const entriesFor = (objectId: string) =>
    em().find(LogEntry, { appLabel: 'core', model: 'language', objectId }, { orderBy: { id: 'asc' } });

  describe('Mutation.createLanguage', () => {
    it('creates the language (blank optional fields stored as null) and logs an ADDITION', async () => {
      const { user, token } = await server.signInWith(['core.add_language']);
      const result = await server.graphql(
        CREATE,
        { input: { languageTag: 'en-GB', language: 'English', accentOrDialect: ' ', family: 'Indo-European' } },
        token,
      );
      expect(result.errors).toBeUndefined();
      expect(result.data!.createLanguage).toMatchObject({
        languageTag: 'en-GB',
        language: 'English',
        accentOrDialect: null,
        family: 'Indo-European',
      });
      const [entry] = await entriesFor(keyOf(result.data!.createLanguage.id));
      expect(entry).toMatchObject({ actionFlag: ActionFlag.ADDITION, objectRepr: 'en-GB', changeMessage: [{ added: {} }] });
      expect(entry.user?.id).toBe(user.id);
    });

    it.each([
      ['a languageTag over 20 characters', { languageTag: 'x'.repeat(21) }, 'input.languageTag'],
      ['a blank languageTag', { languageTag: '' }, 'input.languageTag'],
      ['a language over 50 characters', { language: 'x'.repeat(51) }, 'input.language'],
      ['an accentOrDialect over 50 characters', { accentOrDialect: 'x'.repeat(51) }, 'input.accentOrDialect'],
      ['a family over 50 characters', { family: 'x'.repeat(51) }, 'input.family'],
    ])('refuses %s with BAD_USER_INPUT naming the field, and writes nothing', async (_what, change, field) => {
      const { token } = await server.signInWith(['core.add_language']);
      const before = await server.db.snapshot();
      const result = await server.graphql(CREATE, { input: { languageTag: 'fr-CA', ...change } }, token);
      expect(result.errors?.map((e) => e.extensions)).toEqual([{ code: 'BAD_USER_INPUT', field }]);
      expect(await server.db.snapshot()).toEqual(before);
    });

    it('refuses a languageTag already in use with CONFLICT naming languageTag, writing nothing and leaking no SQL', async () => {
      const { token } = await server.signInWith(['core.add_language']);
      await makeLanguage('de-CH');
      const before = await server.db.snapshot();
      const result = await server.graphql(CREATE, { input: { languageTag: 'de-CH' } }, token);
      expect(result.errors).toEqual([
        expect.objectContaining({
          message: 'the language tag "de-CH" is already in use',
          extensions: { code: 'CONFLICT', field: 'input.languageTag' },
        }),
      ]);
      expect(JSON.stringify(result.errors)).not.toMatch(/constraint|duplicate key|core_language/i);
      expect(await server.db.snapshot()).toEqual(before);
    });

    it('lets exactly one of three simultaneous creations of the same tag win; the others are CONFLICTs', async () => {
      const { token } = await server.signInWith(['core.add_language']);
      const results = await Promise.all([1, 2, 3].map(() => server.graphql(CREATE, { input: { languageTag: 'es-419' } }, token)));
      expect(results.filter((r) => !r.errors)).toHaveLength(1);
      expect(results.filter((r) => r.errors).map((r) => r.errors![0].extensions?.code)).toEqual(['CONFLICT', 'CONFLICT']);
      expect(await em().count(LogEntry, { model: 'language', objectRepr: 'es-419' })).toBe(1);
    });
  });

  describe('Mutation.updateLanguage', () => {
    it('clears an optional field with null and logs exactly the changed fields', async () => {
      const { token } = await server.signInWith(['core.change_language']);
      const language = await makeLanguage('pt-BR', { family: 'Romance', language: 'Portuguese' });
      const result = await server.graphql(
        UPDATE,
        { id: language.id, input: { family: null, language: 'Portuguese', accentOrDialect: 'Brazilian' } },
        token,
      );
      expect(result.data).toEqual({
        updateLanguage: {
          id: globalIdOf(language),
          languageTag: 'pt-BR',
          language: 'Portuguese',
          accentOrDialect: 'Brazilian',
          family: null,
        },
      });
      const entries = await entriesFor(language.id);
      expect(entries.map((e) => [e.actionFlag, e.changeMessage])).toEqual([
        [ActionFlag.CHANGE, [{ changed: { fields: ['accentOrDialect', 'family'] } }]],
      ]);
    });

    it('refuses a tag already in use with CONFLICT, and the failed update writes no log entry', async () => {
      const { token } = await server.signInWith(['core.change_language']);
      await makeLanguage('it-IT');
      const language = await makeLanguage('it-CH');
      const before = await server.db.snapshot();
      const result = await server.graphql(UPDATE, { id: language.id, input: { languageTag: 'it-IT', family: 'Romance' } }, token);
      expect(result.errors?.map((e) => e.extensions)).toEqual([{ code: 'CONFLICT', field: 'input.languageTag' }]);
      expect(await server.db.snapshot()).toEqual(before);
      expect(await entriesFor(language.id)).toEqual([]);
      expect(await em().findOneOrFail(Language, language.id)).toMatchObject({ languageTag: 'it-CH', family: null });
    });

    it('writes no log entry when nothing changes', async () => {
      const { token } = await server.signInWith(['core.change_language']);
      const language = await makeLanguage('nl-BE', { family: 'Germanic' });
      const result = await server.graphql(UPDATE, { id: language.id, input: { languageTag: 'nl-BE', family: 'Germanic' } }, token);
      expect(result.errors).toBeUndefined();
      expect(await entriesFor(language.id)).toEqual([]);
    });
  });

  describe('Query.language and Mutation.deleteLanguage', () => {
    it('reads, deletes (returning the id, logging a DELETION), then reads null', async () => {
      const { token } = await server.signInWith(['core.view_language', 'core.delete_language']);
      const language = await makeLanguage('sv-FI');
      expect((await server.graphql(ONE, { id: language.id }, token)).data).toEqual({
        language: expect.objectContaining({ languageTag: 'sv-FI' }),
      });
      expect((await server.graphql(DELETE, { id: language.id }, token)).data).toEqual({
        deleteLanguage: { deletedId: globalIdOf(language) },
      });
      expect((await server.graphql(ONE, { id: language.id }, token)).data).toEqual({ language: null });
      expect((await entriesFor(language.id)).map((e) => [e.actionFlag, e.objectRepr])).toEqual([[ActionFlag.DELETION, 'sv-FI']]);
    });
  });
});
