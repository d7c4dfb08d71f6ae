using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Tally.Postgres.EventLog;

namespace Tally.Postgres.Checkpoints;

/// <summary>One <c>tier_checkpoints</c> row: a user's <paramref name="Seq"/>-th tier history entry in checkpoint era <paramref name="Era"/>.</summary>
internal sealed record TierHistoryRow(
    string TenantId, string UserId, int Era, int Seq, DateTimeOffset At, string Reason, string? FromTier, string ToTier,
    DateTimeOffset WindowStart, DateTimeOffset WindowEnd, IReadOnlyDictionary<string, decimal> Window, TimeZoneInfo Zone);

/// <summary>
/// Writes tier history in group commits (every grain's entries waiting at the same moment: one COPY, one
/// insert). Entries are numbered per user and inserted with ON CONFLICT DO NOTHING, so writing an entry
/// again (after a crash between deciding and recording that it was written) changes nothing: each is
/// stored exactly once, with a <c>tier_changed</c> change in the same transaction (the feed's outbox).
/// </summary>
internal sealed class TierHistoryWriter : GroupedWorker<TierHistoryWriter.PendingWrite>
{
    private const string CreateStage = """
        CREATE TEMP TABLE IF NOT EXISTS tier_stage (tenant_id text, user_id text, era integer, seq integer, at timestamptz, reason text,
            from_tier text, to_tier text, window_start timestamptz, window_end timestamptz, "window" jsonb, ord integer, data json) ON COMMIT DELETE ROWS
        """;

    private const string Copy = """
        COPY tier_stage (tenant_id, user_id, era, seq, at, reason, from_tier, to_tier, window_start, window_end, "window", ord, data) FROM STDIN (FORMAT BINARY)
        """;

    private const string Insert = """
        WITH stored AS (
            INSERT INTO tier_checkpoints (tenant_id, user_id, era, seq, at, reason, from_tier, to_tier, window_start, window_end, "window")
            SELECT tenant_id, user_id, era, seq, at, reason, from_tier, to_tier, window_start, window_end, "window" FROM tier_stage
            ON CONFLICT (tenant_id, user_id, era, seq) DO NOTHING
            RETURNING tenant_id, user_id, era, seq)
        SELECT tally_append_changes(array_agg(g.tenant_id ORDER BY g.ord), array_agg('tier_changed'::text ORDER BY g.ord),
                   array_agg(g.user_id ORDER BY g.ord), array_agg(g.at ORDER BY g.ord), array_agg(g.data ORDER BY g.ord))
          FROM tier_stage g JOIN stored USING (tenant_id, user_id, era, seq)
        """;

    private readonly NpgsqlDataSource _dataSource;
    private readonly EventLogOptions _options;
    private readonly ILogger<TierHistoryWriter> _logger;

    public TierHistoryWriter(NpgsqlDataSource dataSource, IOptions<EventLogOptions> options, ILogger<TierHistoryWriter> logger)
        : base("tier history writer")
    {
        _dataSource = dataSource;
        _options = options.Value;
        _logger = logger;
    }

    protected override int MaxGroup => _options.MaxReplayUsers;
    protected override int LingerMs => _options.LingerMs;

    public Task WriteAsync(IReadOnlyList<TierHistoryRow> rows)
    {
        var pending = new PendingWrite(rows);
        Enqueue(pending);
        return pending.Done.Task;
    }

    protected override void Fail(PendingWrite request, Exception error) => request.Done.TrySetException(error);

    protected override async Task ServeAsync(List<PendingWrite> group)
    {
        try
        {
            await using var conn = await _dataSource.OpenConnectionAsync();
            await using var tx = await conn.BeginTransactionAsync();
            await using (var create = new NpgsqlCommand(CreateStage, conn, tx)) await create.ExecuteNonQueryAsync();
            await using (var copy = await conn.BeginBinaryImportAsync(Copy))
            {
                var ord = 0;
                foreach (var pending in group)
                    foreach (var row in pending.Rows)
                    {
                        await copy.StartRowAsync();
                        await copy.WriteAsync(row.TenantId, NpgsqlDbType.Text);
                        await copy.WriteAsync(row.UserId, NpgsqlDbType.Text);
                        await copy.WriteAsync(row.Era, NpgsqlDbType.Integer);
                        await copy.WriteAsync(row.Seq, NpgsqlDbType.Integer);
                        await copy.WriteAsync(row.At.UtcDateTime, NpgsqlDbType.TimestampTz);
                        await copy.WriteAsync(row.Reason, NpgsqlDbType.Text);
                        if (row.FromTier is null) await copy.WriteNullAsync(); else await copy.WriteAsync(row.FromTier, NpgsqlDbType.Text);
                        await copy.WriteAsync(row.ToTier, NpgsqlDbType.Text);
                        await copy.WriteAsync(row.WindowStart.UtcDateTime, NpgsqlDbType.TimestampTz);
                        await copy.WriteAsync(row.WindowEnd.UtcDateTime, NpgsqlDbType.TimestampTz);
                        await copy.WriteAsync(JsonSerializer.Serialize(row.Window), NpgsqlDbType.Jsonb);
                        await copy.WriteAsync(ord++, NpgsqlDbType.Integer);
                        await copy.WriteAsync(Changes.ChangeData.OfTierEntry(row.At, row.Reason, row.FromTier, row.ToTier, row.WindowStart, row.WindowEnd,
                            row.Window, row.Zone), NpgsqlDbType.Json);
                    }
                await copy.CompleteAsync();
            }
            await using (var insert = new NpgsqlCommand(Insert, conn, tx)) await insert.ExecuteNonQueryAsync();
            await tx.CommitAsync();
            foreach (var pending in group) pending.Done.TrySetResult();
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Writing tier history of {Users} users failed; their grains write it again later.", group.Count);
            foreach (var pending in group) pending.Done.TrySetException(ex);
        }
    }

    public sealed record PendingWrite(IReadOnlyList<TierHistoryRow> Rows)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
