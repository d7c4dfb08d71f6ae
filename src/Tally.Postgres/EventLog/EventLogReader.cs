using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace Tally.Postgres.EventLog;

/// <summary>
/// Reads users' events back from the log, in commit order, after their watermarks. Every grain
/// activation asks once; requests arriving together are answered by one query, so activating
/// thousands of users costs tens of queries, not thousands.
/// </summary>
public sealed class EventLogReader : BackgroundService
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly EventLogOptions _options;
    private readonly ILogger<EventLogReader> _logger;
    private readonly Channel<ReplayRequest> _queue = Channel.CreateUnbounded<ReplayRequest>(new UnboundedChannelOptions { SingleReader = true });

    public EventLogReader(NpgsqlDataSource dataSource, IOptions<EventLogOptions> options, ILogger<EventLogReader> logger)
    {
        _dataSource = dataSource;
        _options = options.Value;
        _logger = logger;
    }

    public Task<List<LoggedEvent>> ReadUserAfterAsync(string tenantId, string userId, long afterEventId)
    {
        var request = new ReplayRequest(tenantId, userId, afterEventId);
        if (!_queue.Writer.TryWrite(request))
            request.Done.TrySetException(new EventLogUnavailableException("The event-log reader is stopped.", null));
        return request.Done.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reader = _queue.Reader;
        try
        {
            while (true)
            {
                var (batch, _) = await BatchCollector.CollectAsync(reader, static _ => 1, _options.MaxReplayUsers, _options.LingerMs, stoppingToken);
                if (batch.Count == 0) break;
                await ReplayAsync(batch);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        _queue.Writer.TryComplete();
        while (reader.TryRead(out var left))
            left.Done.TrySetException(new EventLogUnavailableException("The event-log reader stopped.", null));
    }

    private async Task ReplayAsync(List<ReplayRequest> batch)
    {
        try
        {
            var tenants = new string[batch.Count];
            var users = new string[batch.Count];
            var afters = new long[batch.Count];
            var results = new List<LoggedEvent>[batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                (tenants[i], users[i], afters[i]) = (batch[i].TenantId, batch[i].UserId, batch[i].AfterEventId);
                results[i] = new List<LoggedEvent>();
            }
            await using var cmd = _dataSource.CreateCommand(EventLogSql.ReplayUsers);
            cmd.Parameters.AddWithValue("tenants", NpgsqlDbType.Array | NpgsqlDbType.Text, tenants);
            cmd.Parameters.AddWithValue("users", NpgsqlDbType.Array | NpgsqlDbType.Text, users);
            cmd.Parameters.AddWithValue("afters", NpgsqlDbType.Array | NpgsqlDbType.Bigint, afters);
            await using (var reader = await cmd.ExecuteReaderAsync())
                while (await reader.ReadAsync())
                    results[(int)reader.GetInt64(0) - 1].Add(new LoggedEvent(reader.GetInt64(1), reader.GetFieldValue<DateOnly>(2), reader.GetString(3)));
            for (var i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult(results[i]);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Replay read for {Users} users failed; their activations fail and will be retried.", batch.Count);
            var error = new EventLogUnavailableException("The event log could not be read: " + ex.Message, ex);
            foreach (var request in batch) request.Done.TrySetException(error);
        }
    }

    private sealed record ReplayRequest(string TenantId, string UserId, long AfterEventId)
    {
        public TaskCompletionSource<List<LoggedEvent>> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

public sealed record LoggedEvent(long EventId, DateOnly ActionDate, string MeasuresJson);
