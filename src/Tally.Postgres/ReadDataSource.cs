using Microsoft.Extensions.Logging;
using Npgsql;

namespace Tally.Postgres;

/// <summary>
/// Where reads that may lag go (the analytics seed's <c>DB_READ_HOST</c>): a streaming replica when
/// <c>Tally:Postgres:ReadConnectionString</c> names one, else the primary. A replica that cannot be reached is left
/// alone for <see cref="RetryAfter"/> and its reads go to the primary meanwhile: a read is never refused because the
/// replica is down. Writes and reads that must see the caller's own writes always use the primary.
/// </summary>
internal sealed class ReadDataSource(NpgsqlDataSource primary, NpgsqlDataSource? replica, TimeProvider time, ILogger<ReadDataSource> logger) : IAsyncDisposable
{
    /// <summary>The pools' names (on /metrics and in the readiness check).</summary>
    public const string PrimaryPoolName = "tally", ReplicaPoolName = "tally-read";

    /// <summary>How long a replica that failed is not tried again.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    private long _replicaDownUntilTicks;

    /// <summary>The replica's pool, or null when none is configured.</summary>
    public NpgsqlDataSource? Replica => replica;

    public NpgsqlDataSource Primary => primary;

    /// <summary>Whether reads go to the replica now (configured and not marked down).</summary>
    public bool UsesReplica => replica is not null && time.GetUtcNow().UtcTicks >= Interlocked.Read(ref _replicaDownUntilTicks);

    /// <summary>Runs a read on the replica, or on the primary when there is none or it does not answer.</summary>
    public async Task<T> ReadAsync<T>(Func<NpgsqlDataSource, Task<T>> read, CancellationToken ct = default)
    {
        if (replica is not null && UsesReplica)
        {
            try
            {
                return await read(replica);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested && IsUnreachable(ex))
            {
                Interlocked.Exchange(ref _replicaDownUntilTicks, (time.GetUtcNow() + RetryAfter).UtcTicks);
                logger.LogWarning("The read replica did not answer ({Error}); reads go to the primary for {Seconds} s.", ex.Message, RetryAfter.TotalSeconds);
            }
        }
        return await read(primary);
    }

    public ValueTask DisposeAsync() => replica?.DisposeAsync() ?? ValueTask.CompletedTask;

    // A replica down, restarting, refusing connections or in recovery conflict: the primary can answer instead.
    private static bool IsUnreachable(Exception ex) =>
        ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException or IOException
        || ex.InnerException is { } inner && IsUnreachable(inner);
}
