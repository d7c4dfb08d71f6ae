using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
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
/// <para>
/// Two guards keep one caller from hurting the others. Admission: when more than
/// <see cref="EventLogOptions.MaxQueuedRows"/> rows wait, a new call is refused at once
/// (<see cref="EventLogOverloadedException"/>, nothing written) instead of queuing past its callers'
/// timeouts. Isolation: when PostgreSQL refuses a batch for something in its data, the batch is split
/// and retried, so only the caller whose rows are at fault fails (<see cref="EventLogRejectedException"/>).
/// </para>
/// </summary>
internal sealed class EventLogWriter : BackgroundService
{
    private readonly Histogram<int> _batchRows;
    private readonly Histogram<double> _commitMs;
    private readonly Counter<long> _rowsWritten;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _isolated;

    private readonly NpgsqlDataSource _dataSource;
    private readonly PartitionMaintainer _partitions;
    private readonly EventLogOptions _options;
    private readonly ILogger<EventLogWriter> _logger;
    private readonly BlockingCollection<PendingAppend> _queue = new();
    private readonly Lock _gathering = new();
    private long _queuedRows;

    private readonly IWriteFence? _fence;
    private long _lastFenceWarning;
    private readonly string _begin;

    // What callers waited for their last commits (queue and commit), as a decaying average in microseconds, and when
    // the last commit ended: the silo's admission reads it (RecentLatencyMs).
    private long _latencyAverageMicros;
    private long _lastCommitEndedMs;

    public EventLogWriter(NpgsqlDataSource dataSource, PartitionMaintainer partitions, IOptions<EventLogOptions> options, IMeterFactory meters,
        ILogger<EventLogWriter> logger, IWriteFence? fence = null)
    {
        _dataSource = dataSource;
        _fence = fence;
        _partitions = partitions;
        _options = options.Value;
        _logger = logger;
        _begin = EventLogSql.Begin(_options.StalledCommitSeconds);
        var meter = meters.Create("Tally.EventLog");
        _batchRows = meter.CreateHistogram<int>("tally_eventlog_batch_rows", "{row}", "Rows per group commit.");
        _commitMs = meter.CreateHistogram<double>("tally_eventlog_commit", "ms", "Duration of one group commit.");
        _rowsWritten = meter.CreateCounter<long>("tally_eventlog_rows", "{row}", "Rows sent to the log in committed batches.");
        _refused = meter.CreateCounter<long>("tally_eventlog_refused_rows", "{row}", "Rows refused because the writer's queue was full.");
        _isolated = meter.CreateCounter<long>("tally_eventlog_isolated_failures", "{call}", "Calls failed alone after their rows made a batch fail.");
        meter.CreateObservableGauge("tally_eventlog_queued_rows", () => Interlocked.Read(ref _queuedRows), "{row}", "Rows waiting for or inside a commit.");
    }

    /// <summary>A row's result when its epoch is no longer its user's, or this silo is no longer a live member
    /// of the cluster: nothing was written for it.</summary>
    public const long Superseded = -1;

    /// <summary>Rows waiting for or inside a commit.</summary>
    public long QueuedRows => Interlocked.Read(ref _queuedRows);

    /// <summary>How long callers waited for their recent commits, queue included (a decaying average over the last few
    /// commits); 0 when nothing committed in the last second, so an idle writer never looks slow.</summary>
    public double RecentLatencyMs =>
        Environment.TickCount64 - Interlocked.Read(ref _lastCommitEndedMs) > 1_000 ? 0 : Interlocked.Read(ref _latencyAverageMicros) / 1000.0;

    /// <summary>
    /// Appends rows durably. Returns per row its event id, 0 for a duplicate key, or <see cref="Superseded"/>.
    /// Throws <see cref="EventLogOverloadedException"/> (nothing written) when the queue is full,
    /// <see cref="EventLogRejectedException"/> when PostgreSQL refused these rows, and
    /// <see cref="EventLogUnavailableException"/> when the commit failed.
    /// </summary>
    public Task<long[]> AppendAsync(IReadOnlyList<EventLogRow> rows)
    {
        var queued = Interlocked.Add(ref _queuedRows, rows.Count);
        // An empty queue always admits, so one call larger than the limit still gets through alone.
        if (queued > _options.MaxQueuedRows && queued != rows.Count)
        {
            Interlocked.Add(ref _queuedRows, -rows.Count);
            _refused.Add(rows.Count);
            return Task.FromException<long[]>(new EventLogOverloadedException(
                $"The event-log writer has {queued - rows.Count:N0} rows queued (limit {_options.MaxQueuedRows:N0}); nothing was written."));
        }
        var pending = new PendingAppend(rows);
        if (!TryEnqueue(pending))
        {
            Interlocked.Add(ref _queuedRows, -rows.Count);
            pending.Done.TrySetException(new EventLogUnavailableException("The event-log writer is stopped.", null));
        }
        return pending.Done.Task;
    }

    private bool TryEnqueue(PendingAppend pending)
    {
        try
        {
            return _queue.TryAdd(pending);
        }
        catch (InvalidOperationException)
        {
            return false; // the writer has stopped
        }
    }

    // The writer runs on threads of its own with PostgreSQL's synchronous calls. Its waits (for rows to
    // gather, for each round trip of a commit) then end when the data is there. On the thread pool every
    // await resumed behind the pool's queue, which under ingest holds thousands of grain work items: the
    // COPY of a commit of about 600 rows took 17 ms, against 10 ms on these threads (decision 025).
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lanes = new Task[_options.MaxConcurrentCommits];
        for (var i = 0; i < lanes.Length; i++)
            lanes[i] = Task.Factory.StartNew(() => RunLane(stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        return DrainAfterAsync(lanes);
    }

    private async Task DrainAfterAsync(Task[] lanes)
    {
        await Task.WhenAll(lanes);
        _queue.CompleteAdding();
        while (_queue.TryTake(out var left))
        {
            Interlocked.Add(ref _queuedRows, -left.Rows.Count);
            left.Done.TrySetException(new EventLogUnavailableException("The event-log writer stopped before this batch was written.", null));
        }
    }

    /// <summary>One commit at a time: gather a batch (one lane gathers at a time, so while one commits the next
    /// batch fills), write it, complete its callers.</summary>
    private void RunLane(CancellationToken stoppingToken)
    {
        var batch = new List<PendingAppend>();
        while (!stoppingToken.IsCancellationRequested)
        {
            batch.Clear();
            int rows;
            lock (_gathering)
                rows = BatchCollector.Collect(_queue, batch, static p => p.Rows.Count, _options.MaxBatchRows, _options.LingerMs, stoppingToken);
            if (rows == 0) continue;
            try
            {
                Commit(batch, rows);
            }
            finally
            {
                Interlocked.Add(ref _queuedRows, -rows);
            }
        }
    }

    private void Commit(List<PendingAppend> batch, int rowCount)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var ids = Write(batch, rowCount);
            var offset = 0;
            foreach (var pending in batch)
            {
                pending.Done.TrySetResult(ids.AsSpan(offset, pending.Rows.Count).ToArray());
                offset += pending.Rows.Count;
            }
            _batchRows.Record(rowCount);
            _rowsWritten.Add(rowCount);
            _commitMs.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            RecordLatency(batch);
        }
        catch (PostgresException ex) when (IsCausedByData(ex))
        {
            if (batch.Count == 1)
            {
                _isolated.Add(1);
                var first = batch[0].Rows[0];
                _logger.LogWarning("The event log refused {Rows} rows of tenant {Tenant}, user {User}: {Message}. Only this call fails.",
                    rowCount, first.TenantId, first.Event.UserId, ex.MessageText);
                batch[0].Done.TrySetException(new EventLogRejectedException($"The event log refused these events: {ex.MessageText}", ex));
                return;
            }
            // Something in one caller's rows: split and retry, so every other caller still commits.
            var half = batch.Count / 2;
            var left = batch.GetRange(0, half);
            var right = batch.GetRange(half, batch.Count - half);
            Commit(left, left.Sum(p => p.Rows.Count));
            Commit(right, right.Sum(p => p.Rows.Count));
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Event-log commit of {Rows} rows failed; {Callers} callers get not-durable.", rowCount, batch.Count);
            var error = new EventLogUnavailableException("The event log could not commit: " + ex.Message, ex);
            foreach (var pending in batch) pending.Done.TrySetException(error);
        }
    }

    /// <summary>Folds the longest wait of a committed batch (its first caller's, queue and commit) into the average. Lanes
    /// may race here; a lost update only skips one sample of a heuristic.</summary>
    private void RecordLatency(List<PendingAppend> batch)
    {
        var oldest = long.MaxValue;
        foreach (var pending in batch) oldest = Math.Min(oldest, pending.EnqueuedAt);
        var waitedMicros = (long)Stopwatch.GetElapsedTime(oldest).TotalMicroseconds;
        var average = Interlocked.Read(ref _latencyAverageMicros);
        // A new sample weighs a quarter: about the last four commits, a few tens of milliseconds of history.
        Interlocked.Exchange(ref _latencyAverageMicros, average + (waitedMicros - average) / 4);
        Interlocked.Exchange(ref _lastCommitEndedMs, Environment.TickCount64);
    }

    /// <summary>Errors PostgreSQL raises for what a row holds (data exceptions, constraint violations, size
    /// limits), as opposed to a connection, server or resource failure that no split would cure.</summary>
    private static bool IsCausedByData(PostgresException ex) =>
        ex.SqlState.StartsWith("22", StringComparison.Ordinal) || ex.SqlState.StartsWith("23", StringComparison.Ordinal)
        || ex.SqlState.StartsWith("54", StringComparison.Ordinal);

    private long[] Write(List<PendingAppend> batch, int rowCount)
    {
        var days = new HashSet<DateOnly>();
        foreach (var pending in batch)
            foreach (var row in pending.Rows)
                days.Add(row.ActionDate);
        // Does I/O only for a month no commit has met before.
        _partitions.EnsureAsync(days).GetAwaiter().GetResult();

        using var conn = _dataSource.OpenConnection();
        using var tx = conn.BeginTransaction();
        using (var begin = new NpgsqlCommand(_begin, conn, tx)) begin.ExecuteNonQuery();

        using (var copy = conn.BeginBinaryImport(EventLogSql.CopyStage))
        {
            var seq = 0;
            foreach (var pending in batch)
                foreach (var row in pending.Rows)
                {
                    var e = row.Event;
                    copy.StartRow();
                    copy.Write(seq++, NpgsqlDbType.Integer);
                    copy.Write(row.TenantId, NpgsqlDbType.Text);
                    copy.Write(e.UserId, NpgsqlDbType.Text);
                    copy.Write(row.Epoch, NpgsqlDbType.Bigint);
                    copy.Write(e.Action, NpgsqlDbType.Text);
                    copy.Write(row.ActionDate, NpgsqlDbType.Date);
                    copy.Write(e.OccurredAt.UtcDateTime, NpgsqlDbType.TimestampTz);
                    copy.Write(e.IdempotencyKey, NpgsqlDbType.Text);
                    copy.Write(JsonColumns.Measures(e.Measures), NpgsqlDbType.Jsonb);
                    WriteNullable(copy, JsonColumns.Dims(e.Dims));
                    WriteNullable(copy, e.PayloadJson);
                    copy.Write(row.ArrivedAt.UtcDateTime, NpgsqlDbType.TimestampTz);
                }
            copy.Complete();
        }

        // The fence after the COPY (see EventLogSql.Fence): from here to the commit the bounds hold.
        if (_fence?.Identity is { } identity)
        {
            using var fence = new NpgsqlCommand(EventLogSql.Fence, conn, tx);
            FenceIdentity.AddParameters(fence, identity);
            if (Convert.ToInt64(fence.ExecuteScalar()) == 0)
            {
                WarnFenced(identity);
                var refused = new long[rowCount];
                Array.Fill(refused, Superseded);
                return refused;
            }
        }

        var ids = new long[rowCount];
        using (var insert = new NpgsqlCommand(EventLogSql.InsertFromStage, conn, tx))
        using (var reader = insert.ExecuteReader())
            while (reader.Read())
                ids[reader.GetInt32(0)] = reader.GetInt64(1);
        tx.Commit();
        return ids;
    }

    private void WarnFenced(FenceIdentity identity)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastFenceWarning);
        if (last != 0 && now - last < 10_000 || Interlocked.CompareExchange(ref _lastFenceWarning, now, last) != last) return;
        _logger.LogWarning(
            "This silo ({Address}:{Port}, generation {Generation}) is not a live member of cluster {Cluster} in orleansmembershiptable: " +
            "its log writes are refused (decision 011). A silo declared dead must restart; Tally needs ADO.NET clustering on its own database.",
            identity.Address, identity.Port, identity.Generation, identity.ClusterId);
    }

    private static void WriteNullable(NpgsqlBinaryImporter copy, string? json)
    {
        if (json is null) copy.WriteNull();
        else copy.Write(json, NpgsqlDbType.Jsonb);
    }

    private sealed class PendingAppend(IReadOnlyList<EventLogRow> rows)
    {
        public IReadOnlyList<EventLogRow> Rows { get; } = rows;
        public long EnqueuedAt { get; } = Stopwatch.GetTimestamp();
        public TaskCompletionSource<long[]> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>The event log could not make rows durable; nothing from the failed batch is acknowledged.</summary>
internal sealed class EventLogUnavailableException(string message, Exception? inner) : Exception(message, inner);

/// <summary>The writer's queue was full; the call was refused before anything was written.</summary>
internal sealed class EventLogOverloadedException(string message) : Exception(message);

/// <summary>PostgreSQL refused these rows for what they hold; nothing of them was written, other callers' rows were.</summary>
internal sealed class EventLogRejectedException(string message, Exception? inner) : Exception(message, inner);
