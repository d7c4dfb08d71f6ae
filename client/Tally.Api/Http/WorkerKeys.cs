namespace Tally.Api.Http;

/// <summary>
/// Keys for the stateless worker grains the API calls (ingest, board queries). An Orleans client sends every call to
/// one grain id through the same gateway (its bucket), so with one key every ingest call of this API instance went
/// through one silo: paused, it held back all ingest until declared dead (the fault checker's paused silo, 2026-12-07).
/// The calls cycle through a few keys instead, which spreads them over the gateways; a stateless worker's key
/// carries no meaning, so any key reaches the same code on the silo that receives it.
/// </summary>
internal static class WorkerKeys
{
    private const int Count = 32;
    private static long _next;

    public static long Next() => Interlocked.Increment(ref _next) % Count;
}
