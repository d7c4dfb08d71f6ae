using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Tally.Domain.Goals;
using Tally.Postgres.EventLog;

namespace Tally.Postgres.Goals;

/// <summary>One user's completions to record; <paramref name="Zone"/> is the tenant's, for the instants of their changes.</summary>
internal sealed record GoalCompletionRows(string TenantId, string UserId, IReadOnlyList<GoalCompletion> Completions, TimeZoneInfo Zone);

/// <summary>
/// Records goal completions in group commits (every grain's completions waiting at the same moment: one statement of
/// arrays). Rows are keyed by (tenant, user, goal, level, instance) and inserted with ON CONFLICT DO NOTHING, so a
/// completion computed again (a replay after a crash, a retry after a failed write) is stored exactly once. Each row
/// stored is announced by a <c>goal_completed</c> change in the same transaction (the feed's outbox): never one without the other.
/// </summary>
internal sealed class GoalCompletionWriter : GroupedWorker<GoalCompletionWriter.PendingWrite>
{
    private const string Insert = """
        WITH input AS (
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::text[], $6::numeric[], $7::timestamptz[], $8::numeric[], $9::json[])
                   WITH ORDINALITY AS w(tenant_id, user_id, goal, level, window_key, target, completed_at, value, data, ord)),
        stored AS (
            INSERT INTO goal_completions (tenant_id, user_id, goal, level, window_key, target, completed_at, value)
            SELECT tenant_id, user_id, goal, level, window_key, target, completed_at, value FROM input
            ON CONFLICT (tenant_id, user_id, goal, level, window_key) DO NOTHING
            RETURNING tenant_id, user_id, goal, level, window_key)
        SELECT tally_append_changes(array_agg(i.tenant_id ORDER BY i.ord), array_agg('goal_completed'::text ORDER BY i.ord),
                   array_agg(i.user_id ORDER BY i.ord), array_agg(i.completed_at ORDER BY i.ord), array_agg(i.data ORDER BY i.ord))
          FROM input i JOIN stored USING (tenant_id, user_id, goal, level, window_key)
        """;

    private readonly NpgsqlDataSource _dataSource;
    private readonly EventLogOptions _options;
    private readonly ILogger<GoalCompletionWriter> _logger;

    public GoalCompletionWriter(NpgsqlDataSource dataSource, IOptions<EventLogOptions> options, ILogger<GoalCompletionWriter> logger)
        : base("goal completion writer")
    {
        _dataSource = dataSource;
        _options = options.Value;
        _logger = logger;
    }

    protected override int MaxGroup => _options.MaxReplayUsers;
    protected override int LingerMs => _options.LingerMs;

    /// <summary>Records the completions; completes when they are committed (or throws, and nothing of them is).</summary>
    public Task WriteAsync(GoalCompletionRows rows)
    {
        var pending = new PendingWrite(rows);
        Enqueue(pending);
        return pending.Done.Task;
    }

    protected override void Fail(PendingWrite request, Exception error) => request.Done.TrySetException(error);

    protected override async Task ServeAsync(List<PendingWrite> group)
    {
        var count = group.Sum(p => p.Rows.Completions.Count);
        var tenants = new string[count];
        var users = new string[count];
        var goals = new string[count];
        var levels = new int[count];
        var windows = new string[count];
        var targets = new decimal[count];
        var at = new DateTime[count];
        var values = new decimal[count];
        var data = new string[count];
        var i = 0;
        foreach (var pending in group)
            foreach (var c in pending.Rows.Completions)
            {
                (tenants[i], users[i], goals[i], levels[i], windows[i]) = (pending.Rows.TenantId, pending.Rows.UserId, c.Goal, c.Level, c.WindowKey);
                (targets[i], at[i], values[i]) = (c.Target, c.CompletedAt.UtcDateTime, c.Value);
                data[i] = Changes.ChangeData.OfCompletion(c, pending.Rows.Zone);
                i++;
            }
        try
        {
            await using var cmd = _dataSource.CreateCommand(Insert);
            cmd.Parameters.Add(new() { Value = tenants, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = users, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = goals, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = levels, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer });
            cmd.Parameters.Add(new() { Value = windows, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = targets, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Numeric });
            cmd.Parameters.Add(new() { Value = at, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
            cmd.Parameters.Add(new() { Value = values, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Numeric });
            cmd.Parameters.Add(new() { Value = data, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Json });
            await cmd.ExecuteNonQueryAsync();
            foreach (var pending in group) pending.Done.TrySetResult();
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Recording {Completions} goal completions of {Users} users failed; their grains record them again later.", count, group.Count);
            foreach (var pending in group) pending.Done.TrySetException(ex);
        }
    }

    public sealed record PendingWrite(GoalCompletionRows Rows)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
