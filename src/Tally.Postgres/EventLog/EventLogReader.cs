using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Tally.Domain.Events;

namespace Tally.Postgres.EventLog;

/// <summary>
/// Loads users for activation: the saved state and the log's events after its watermark, in commit
/// order. Every grain activation asks once; requests arriving together are answered by one round
/// trip, so activating thousands of users costs tens of queries, not thousands.
/// </summary>
internal sealed class EventLogReader : GroupedWorker<EventLogReader.ReplayRequest>
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly EventLogOptions _options;
    private readonly ILogger<EventLogReader> _logger;

    private readonly IWriteFence? _fence;

    public EventLogReader(NpgsqlDataSource dataSource, IOptions<EventLogOptions> options, ILogger<EventLogReader> logger, IWriteFence? fence = null)
        : base("event-log reader")
    {
        _fence = fence;
        _dataSource = dataSource;
        _options = options.Value;
        _logger = logger;
    }

    protected override int MaxGroup => _options.MaxReplayUsers;
    protected override int LingerMs => _options.LingerMs;

    public Task<LoadedUser> LoadUserAsync(string tenantId, string userId)
    {
        var request = new ReplayRequest(tenantId, userId);
        Enqueue(request);
        return request.Done.Task;
    }

    protected override void Fail(ReplayRequest request, Exception error) => request.Done.TrySetException(error);

    protected override Task ServeAsync(List<ReplayRequest> group) => ReplayAsync(group);

    private async Task ReplayAsync(List<ReplayRequest> batch)
    {
        try
        {
            var tenants = new string[batch.Count];
            var users = new string[batch.Count];
            var states = new byte[]?[batch.Count];
            var results = new List<LoggedEvent>[batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                (tenants[i], users[i]) = (batch[i].TenantId, batch[i].UserId);
                results[i] = new List<LoggedEvent>();
            }
            // Both statements run in one implicit transaction: the epochs are taken (and visible to
            // commits) when the load has read the log, which it does after the previous owners' commits
            // in flight have landed (decision 011).
            await using var cmd = _dataSource.CreateCommand(EventLogSql.TakeEpochs + ";\n" + EventLogSql.LoadUsers);
            cmd.Parameters.AddWithValue("tenants", NpgsqlDbType.Array | NpgsqlDbType.Text, tenants);
            cmd.Parameters.AddWithValue("users", NpgsqlDbType.Array | NpgsqlDbType.Text, users);
            FenceIdentity.AddParameters(cmd, _fence?.Identity);
            var epochs = new Dictionary<(string, string), long>(batch.Count);
            await using (var reader = await cmd.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                    epochs[(reader.GetString(0), reader.GetString(1))] = reader.GetInt64(2);
                await reader.NextResultAsync();
                while (await reader.ReadAsync())
                {
                    var ord = (int)reader.GetInt64(0) - 1;
                    if (reader.IsDBNull(1)) states[ord] = reader.GetFieldValue<byte[]>(EventLogSql.EventColumnCount + 1);
                    else results[ord].Add(ReadEvent(reader, 1));
                }
            }
            for (var i = 0; i < batch.Count; i++)
                batch[i].Done.TrySetResult(new LoadedUser(epochs[(tenants[i], users[i])], states[i], results[i]));
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Replay read for {Users} users failed; their activations fail and will be retried.", batch.Count);
            var error = new EventLogUnavailableException("The event log could not be read: " + ex.Message, ex);
            foreach (var request in batch) request.Done.TrySetException(error);
        }
    }

    /// <summary>Reads the columns of <see cref="EventLogSql.EventColumns"/> starting at <paramref name="first"/>.</summary>
    internal static LoggedEvent ReadEvent(NpgsqlDataReader reader, int first)
    {
        var e = new ValidEvent(
            reader.GetString(first + 2),
            reader.GetString(first + 3),
            reader.GetFieldValue<DateTimeOffset>(first + 4),
            reader.GetString(first + 5),
            JsonColumns.ReadMeasures(reader.GetString(first + 6)),
            JsonColumns.ReadDims(reader.IsDBNull(first + 7) ? null : reader.GetString(first + 7)),
            null);
        return new LoggedEvent(reader.GetInt64(first), reader.GetFieldValue<DateOnly>(first + 1), reader.GetFieldValue<DateTimeOffset>(first + 8), e);
    }

    public sealed record ReplayRequest(string TenantId, string UserId)
    {
        public TaskCompletionSource<LoadedUser> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>An event as read back from the log: its id, its tenant-local day, when it arrived and the event (without payload).</summary>
internal sealed record LoggedEvent(long EventId, DateOnly ActionDate, DateTimeOffset ArrivedAt, ValidEvent Event);

/// <summary>
/// An activation's start: its epoch (what its log writes carry), the user's saved state (null if
/// never saved) and the logged events after the state's watermark.
/// </summary>
internal sealed record LoadedUser(long Epoch, byte[]? State, List<LoggedEvent> EventsAfter);
