import { z } from 'zod';
import { defineStep } from 'sluice';

/**
 * A feature step of your own: join each route of an upstream dataset to a second source (airports)
 * with DuckDB, and store the joined rows as a new dataset. Rows never travel through Temporal: the
 * step reads the upstream ArtifactRef as a DuckDB view and returns the new dataset's ref.
 */
export const joinAirports = defineStep({
  name: 'joinAirports',
  description: 'Add the origin and destination airports’ state and coordinates to each route',
  params: z.strictObject({
    /** The upstream step whose output `dataset` holds the routes. */
    from: z.string().default('ingest'),
    /** The second source: a CSV of airports (iata, state, latitude, longitude) inside SLUICE_DATA_ROOTS. */
    airports: z.string().min(1),
    /** Keep only routes whose origin is in this state, e.g. "CA"; all when unset. */
    originState: z.string().length(2).optional(),
  }),
  async run(ctx) {
    const upstream = ctx.inputs[ctx.params.from];
    const routes =
      typeof upstream === 'object' && upstream !== null && !Array.isArray(upstream)
        ? upstream['dataset']
        : undefined;
    if (routes === undefined) {
      throw new Error(`joinAirports: step "${ctx.params.from}" is not a dependency with a "dataset" output`);
    }
    ctx.log.info('joining airports', { airports: ctx.params.airports });
    return ctx.withDuckDB({ routes, airports: ctx.params.airports }, async (db) => {
      const filter = ctx.params.originState
        ? `WHERE o.state = '${ctx.params.originState.replaceAll("'", "''")}'`
        : '';
      const dataset = await ctx.artifacts.putQuery(
        db,
        `SELECT r.*, o.state AS origin_state, o.latitude AS origin_lat, o.longitude AS origin_lon,
                d.state AS destination_state, d.latitude AS destination_lat, d.longitude AS destination_lon,
                o.state = d.state AS same_state
         FROM routes r
         JOIN airports o ON o.iata = r.origin
         JOIN airports d ON d.iata = r.destination
         ${filter}
         ORDER BY r.origin, r.destination`,
      );
      ctx.heartbeat({ joined: dataset.rows ?? 0 });
      const [unmatched] = await db.all(
        `SELECT count(*)::INTEGER AS n FROM routes r
         WHERE r.origin NOT IN (SELECT iata FROM airports) OR r.destination NOT IN (SELECT iata FROM airports)`,
      );
      return { dataset, rows: dataset.rows ?? 0, unmatched: unmatched?.['n'] ?? 0 };
    });
  },
});
