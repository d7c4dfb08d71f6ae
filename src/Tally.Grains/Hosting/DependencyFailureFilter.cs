using Npgsql;
using StackExchange.Redis;
using Tally.Contracts;
using Tally.Postgres.EventLog;

namespace Tally.Grains.Hosting;

/// <summary>
/// Every grain call's failure caused by PostgreSQL or Redis leaves the grain as a
/// <see cref="DependencyUnavailableException"/>, which the caller can receive and map to 503; the
/// driver's exceptions themselves cannot be serialized to it (they reached the API as a codec error, a 500).
/// </summary>
internal sealed class DependencyFailureFilter : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        try
        {
            await context.Invoke();
        }
        catch (Exception ex) when (ex is not DependencyUnavailableException && Translate(ex) is { } translated)
        {
            throw translated;
        }
    }

    /// <summary>The exception to let cross the grain boundary for a dependency failure, or null when <paramref name="ex"/> is something else.</summary>
    public static DependencyUnavailableException? Translate(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case DependencyUnavailableException known:
                    return known;
                case NpgsqlException or EventLogUnavailableException:
                    return new DependencyUnavailableException("PostgreSQL", "PostgreSQL did not answer: " + e.Message);
                case RedisException:
                    return new DependencyUnavailableException("Redis", "Redis did not answer: " + e.Message);
            }
        }
        return null;
    }
}
