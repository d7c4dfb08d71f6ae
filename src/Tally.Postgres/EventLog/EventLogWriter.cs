using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace Tally.Postgres.EventLog;

/// <summary>
/// The silo's single event-log writer. Callers hand it rows and wait; it gathers rows from every
/// caller for a few milliseconds (or up to <see cref="EventLogOptions.MaxBatchRows"/>), writes them
/// in one transaction with binary COPY and completes every waiting call after the commit.
/// Each row comes back with its event id, or 0 when its idempotency key was already in the log,
/// or <see cref="Superseded"/> when its user has a newer activation than the one that wrote it.
/// </summary>
public sealed class EventLogWriter : BackgroundService
{
    private static readonly Meter Meter = new("Tally.EventLog");
    private static readonly Histogram<int> BatchRows = Meter.CreateHistogram<int>("tally_eventlog_batch_rows");
    private static readonly Histogram<double> CommitMs = Meter.CreateHistogram<double>("tally_eventlog_commit_ms");
    private static readonly Counter<long> RowsWritten = Meter.CreateCounter<long>("tally_eventlog_rows");

    private readonly NpgsqlDataSource _dataSource;
    private readonly PartitionMaintainer _partitions;
    private readonly EventLogOptions _options;
    private readonly ILogger<EventLogWriter> _logger;
    private readonly Channel<PendingAppend> _queue = Channel.CreateUnbounded<PendingAppend>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SemaphoreSlim _commitSlots;

    public EventLogWriter(NpgsqlDataSource dataSource, PartitionMaintainer partitions, IOptions<EventLogOptions> options, ILogger<EventLogWriter> logger)
    {
        _dataSource = dataSource;
        _partitions = partitions;
        _options = options.Value;
        _logger = logger;
        _commitSlots = new SemaphoreSlim(_options.MaxConcurrentCommits);
    }

    /// <summary>A row's result when its epoch is no longer its user's: nothing was written for it.</summary>
    public const long Superseded = -1;

    /// <summary>Appends rows durably. Returns per row its event id, 0 for a duplicate key, or <see cref="Superseded"/>. Throws if the commit failed.</summary>
    public Task<long[]> AppendAsync(IReadOnlyList<EventLogRow> rows)
    {
        var pending = new PendingAppend(rows);
        if (!_queue.Writer.TryWrite(pending))
            pending.Done.TrySetException(new EventLogUnavailableException("The event-log writer is stopped.", null));
        return pending.Done.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var reader = _queue.Reader;
        var inFlight = new List<Task>();
        try
        {
            while (true)
            {
                await _commitSlots.WaitAsync(stoppingToken);
                var (batch, rows) = await BatchCollector.CollectAsync(reader, p => p.Rows.Count, _options.MaxBatchRows, _options.LingerMs, stoppingToken);
                if (batch.Count == 0) break;
                inFlight.RemoveAll(t => t.IsCompleted);
                inFlight.Add(CommitAsync(batch, rows));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        await Task.WhenAll(inFlight);
        _queue.Writer.TryComplete();
        while (reader.TryRead(out var left))
            left.Done.TrySetException(new EventLogUnavailableException("The event-log writer stopped before this batch was written.", null));
    }

    private async Task CommitAsync(List<PendingAppend> batch, int rowCount)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var ids = await WriteAsync(batch, rowCount);
            var offset = 0;
            foreach (var pending in batch)
            {
                pending.Done.TrySetResult(ids.AsSpan(offset, pending.Rows.Count).ToArray());
                offset += pending.Rows.Count;
            }
            BatchRows.Record(rowCount);
            RowsWritten.Add(rowCount);
            CommitMs.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Event-log commit of {Rows} rows failed; {Callers} callers get not-durable.", rowCount, batch.Count);
            var error = new EventLogUnavailableException("The event log could not commit: " + ex.Message, ex);
            foreach (var pending in batch) pending.Done.TrySetException(error);
        }
        finally
        {
            _commitSlots.Release();
        }
    }

    private async Task<long[]> WriteAsync(List<PendingAppend> batch, int rowCount)
    {
        var days = new HashSet<DateOnly>();
        foreach (var pending in batch)
            foreach (var row in pending.Rows)
                days.Add(row.ActionDate);
        await _partitions.EnsureAsync(days);

        await using var conn = await _dataSource.OpenConnectionAsync();
        await using var tx = await conn.BeginTransactionAsync();
        await using (var create = new NpgsqlCommand(EventLogSql.CreateStage, conn, tx))
            await create.ExecuteNonQueryAsync();

        await using (var copy = await conn.BeginBinaryImportAsync(EventLogSql.CopyStage))
        {
            var seq = 0;
            foreach (var pending in batch)
                foreach (var row in pending.Rows)
                {
                    await copy.StartRowAsync();
                    await copy.WriteAsync(seq++, NpgsqlDbType.Integer);
                    await copy.WriteAsync(row.TenantId, NpgsqlDbType.Text);
                    await copy.WriteAsync(row.UserId, NpgsqlDbType.Text);
                    await copy.WriteAsync(row.Epoch, NpgsqlDbType.Bigint);
                    await copy.WriteAsync(row.Action, NpgsqlDbType.Text);
                    await copy.WriteAsync(row.ActionDate, NpgsqlDbType.Date);
                    await copy.WriteAsync(row.EventTimestamp.UtcDateTime, NpgsqlDbType.TimestampTz);
                    await copy.WriteAsync(row.IdempotencyKey, NpgsqlDbType.Text);
                    await copy.WriteAsync(row.MeasuresJson, NpgsqlDbType.Jsonb);
                    await WriteNullable(copy, row.DimsJson);
                    await WriteNullable(copy, row.PayloadJson);
                }
            await copy.CompleteAsync();
        }

        var ids = new long[rowCount];
        await using (var fence = new NpgsqlCommand(EventLogSql.Fence, conn, tx))
        await using (var reader = await fence.ExecuteReaderAsync())
        {
            // The first result is the lock statement's one count; the fenced rows come in the second.
            await reader.NextResultAsync();
            while (await reader.ReadAsync())
                ids[reader.GetInt32(0)] = Superseded;
        }
        await using (var insert = new NpgsqlCommand(EventLogSql.InsertFromStage, conn, tx))
        await using (var reader = await insert.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                ids[reader.GetInt32(0)] = reader.GetInt64(1);
        await tx.CommitAsync();
        return ids;
    }

    private static Task WriteNullable(NpgsqlBinaryImporter copy, string? json) =>
        json is null ? copy.WriteNullAsync() : copy.WriteAsync(json, NpgsqlDbType.Jsonb);

    private sealed class PendingAppend(IReadOnlyList<EventLogRow> rows)
    {
        public IReadOnlyList<EventLogRow> Rows { get; } = rows;
        public TaskCompletionSource<long[]> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>The event log could not make rows durable; nothing from the failed batch is acknowledged.</summary>
public sealed class EventLogUnavailableException(string message, Exception? inner) : Exception(message, inner);
