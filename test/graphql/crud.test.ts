import { Tweet } from '../../src/core/tweet.entity';
import { accessCatalog } from '../../src/graphql/access';
import { Language } from '../../src/core/language.entity';
import { tweetAdmin } from '../../src/core/tweets.service';
import { GatehouseError } from '../../src/errors';
import { translateDatabaseError } from '../../src/db/database-errors';
import { CrudResolver } from '../../src/graphql/crud-resolver';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { buildGatehouseSchema } from '../../src/graphql/schema';
import { languageAdmin } from '../../src/core/languages.service';
import { CreateTweetInput, UpdateTweetInput } from '../../src/core/tweet.resolver';
import { modelRef, permissionFor } from '../../src/permissions/registry';

describe('CrudResolver (operations derived from a registered model)', () => {
  it.each([
    ['core.tweet', modelRef('core', 'tweet'), 'Tweet', 'tweets', 'tweet'],
    ['core.language', modelRef('core', 'language'), 'Language', 'languages', 'language'],
  ])('derives the five operations of %s and their permissions from the registry', async (_name, ref, type, plural, singular) => {
    const catalog = new Map(accessCatalog(await buildGatehouseSchema()).map(({ coordinate, access }) => [coordinate, access]));
    const expected = {
      [`Query.${plural}`]: permissionFor(ref, 'view'),
      [`Query.${singular}`]: permissionFor(ref, 'view'),
      [`Mutation.create${type}`]: permissionFor(ref, 'add'),
      [`Mutation.update${type}`]: permissionFor(ref, 'change'),
      [`Mutation.delete${type}`]: permissionFor(ref, 'delete'),
    };
    for (const [coordinate, permission] of Object.entries(expected)) {
      expect({ coordinate, access: catalog.get(coordinate) }).toEqual({ coordinate, access: { kind: 'permission', permission } });
    }
  });

  it('refuses an object type that does not name the registered model', () => {
    expect(() =>
      CrudResolver(languageAdmin as never, { objectType: Tweet, createInput: CreateTweetInput, updateInput: UpdateTweetInput }),
    ).toThrow('CrudResolver: the object type Tweet does not name the registered model core.language');
  });
});

describe('translateDatabaseError (the one place constraint violations become API errors)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db?.drop());

  // Straight to the database, past the models' validation, as a race or a bug would.
  const create = async <E extends object>(entity: new () => E, data: object) => {
    const em = db.orm.em.fork();
    em.create(entity, data as never);
    await em.flush();
  };
  const failure = async (write: () => Promise<unknown>) => {
    try {
      await write();
    } catch (error) {
      return error;
    }
    throw new Error('the write succeeded');
  };

  it('turns a violated check constraint the model names into BAD_USER_INPUT naming the field', async () => {
    const error = await failure(() => create(Tweet, { screenName: 'x', whenTweetWasCreated: new Date(), tweetId: '0' }));
    const translated = translateDatabaseError(error, tweetAdmin.constraints);
    expect(translated).toBeInstanceOf(GatehouseError);
    expect(translated).toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'input.tweetId' } });
  });

  it('turns an unnamed unique violation into a CONFLICT that shows no SQL', async () => {
    await create(Language, { languageTag: 'dup' });
    const error = await failure(() => create(Language, { languageTag: 'dup' }));
    const translated = translateDatabaseError(error) as GatehouseError;
    expect(translated).toMatchObject({ code: 'CONFLICT', message: 'a value of the input is already in use' });
  });

  it('leaves anything that is not a constraint violation alone (to be masked as INTERNAL_SERVER_ERROR)', async () => {
    const error = await failure(() => db.orm.em.fork().execute('select * from no_such_table'));
    expect(translateDatabaseError(error, tweetAdmin.constraints)).toBe(error);
  });
});
