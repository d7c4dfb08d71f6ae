using Shouldly;
using Tally.Postgres.Snapshots;
using Tally.Testing;
using Xunit;

namespace Tally.Cluster.Tests;

/// <summary>
/// The daily refresh adds each group's new events to its row (decision 022): after any sequence of runs, every row equals
/// what the log implies, counted once, without the events of a removal. On a real database, with rows written straight
/// into the log and windows of received_at chosen by the test.
/// </summary>
public class DailyStatsRefreshTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2025-11-22T12:00:00Z");
    private TestDatabase _db = null!;
    private DailyStatsRefresh _store = null!;

    public async Task InitializeAsync()
    {
        _db = await TestDatabase.CreateAsync("daily");
        _store = new DailyStatsRefresh(_db.DataSource);
        await _db.ExecuteAsync("SELECT tally_ensure_event_partitions('2025-10-01', '2025-12-31')");
    }

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task runs_add_only_new_events_and_a_repeated_window_counts_nothing_twice()
    {
        // Wave 1 at T0: two users, two days, two actions; cents in the values.
        await LogAsync(0, ("u1", "2025-11-21", "bike", "{\"co2\": 1.25}"), ("u1", "2025-11-21", "bike", "{\"co2\": 2.50}"),
            ("u1", "2025-11-22", "walk", "{\"co2\": 0.10}"), ("u2", "2025-11-21", "bike", "{\"co2\": 7}"));
        (await RefreshAsync(0, 1)).ShouldBe(3);
        await ShouldMatchTheLogAsync();
        var first = await RowsAsync();

        (await RefreshAsync(0, 1)).ShouldBe(0, "a window already taken adds nothing");
        (await RowsAsync()).ShouldBe(first);

        // Wave 2 at T0+1 min: more of the same groups, a new measure, a new group.
        await LogAsync(1, ("u1", "2025-11-21", "bike", "{\"co2\": 0.75, \"km\": 3.5}"), ("u2", "2025-11-21", "bike", "{\"co2\": 0.01}"),
            ("u2", "2025-11-20", "bus", "{\"co2\": 4.2}"));
        // The window overlaps the first (as a run after a restart may): the first wave is not added again.
        (await RefreshAsync(0, 2)).ShouldBe(3);
        await ShouldMatchTheLogAsync();
        (await _db.ScalarAsync<string>("SELECT sums::text FROM user_daily_stats WHERE user_id = 'u1' AND action_date = '2025-11-21'"))
            .ShouldBe("{\"km\": 3.5, \"co2\": 4.50}");
        (await _db.ScalarAsync<long>("SELECT events FROM user_daily_stats WHERE user_id = 'u1' AND action_date = '2025-11-21'")).ShouldBe(3);
    }

    [Fact]
    public async Task a_row_without_a_mark_is_recomputed_from_the_log()
    {
        await LogAsync(0, ("u1", "2025-11-21", "bike", "{\"co2\": 1.5}"), ("u1", "2025-11-21", "bike", "{\"co2\": 2}"));
        // As a row written before migration 0023 could be (and wrong, to show it is not added to).
        await _db.ExecuteAsync("""
            INSERT INTO user_daily_stats (tenant_id, user_id, action_date, action, events, sums)
            VALUES ('t', 'u1', '2025-11-21', 'bike', 99, '{"co2": 99}')
            """);
        await RefreshAsync(0, 1);
        await ShouldMatchTheLogAsync();
        (await _db.ScalarAsync<long>("SELECT events FROM user_daily_stats WHERE user_id = 'u1'")).ShouldBe(2);
    }

    [Fact]
    public async Task events_up_to_a_removal_do_not_count_even_in_a_row_the_removal_did_not_clear()
    {
        await LogAsync(0, ("u1", "2025-11-21", "bike", "{\"co2\": 5}"), ("u1", "2025-11-21", "bike", "{\"co2\": 6}"));
        await RefreshAsync(0, 1);
        // The user is removed through the last event so far. The removal deletes the user's rows; here one survives (as a
        // refresh racing the removal could leave it), marked before the removal.
        await _db.ExecuteAsync("""
            INSERT INTO user_erasures (tenant_id, user_id, through_event_id)
            SELECT 't', 'u1', max(event_id) FROM user_action_events WHERE tenant_id = 't' AND user_id = 'u1'
            """);
        await LogAsync(1, ("u1", "2025-11-21", "bike", "{\"co2\": 0.5}"));
        await RefreshAsync(1, 2);
        await ShouldMatchTheLogAsync();
        (await _db.ScalarAsync<string>("SELECT events || ' ' || sums::text FROM user_daily_stats WHERE user_id = 'u1'")).ShouldBe("1 {\"co2\": 0.5}");
    }

    /// <summary>Writes events straight into the log, received <paramref name="minute"/> minutes after T0.</summary>
    private async Task LogAsync(int minute, params (string User, string Day, string Action, string Measures)[] events)
    {
        foreach (var (user, day, action, measures) in events)
        {
            await using var cmd = _db.DataSource.CreateCommand("""
                INSERT INTO user_action_events (tenant_id, action_date, user_id, action, event_timestamp, received_at, idempotency_key, measures)
                VALUES ('t', $1::date, $2, $3, $1::date + time '10:00', $4, gen_random_uuid()::text, $5::jsonb)
                """);
            cmd.Parameters.AddWithValue(day);
            cmd.Parameters.AddWithValue(user);
            cmd.Parameters.AddWithValue(action);
            cmd.Parameters.AddWithValue(T0.AddMinutes(minute));
            cmd.Parameters.AddWithValue(measures);
            await cmd.ExecuteNonQueryAsync();
        }
    }

    /// <summary>One run over the events received from minute <paramref name="from"/> to minute <paramref name="to"/> after T0.</summary>
    private async Task<long> RefreshAsync(int from, int to) => (await _store.RefreshAsync(T0.AddMinutes(from), T0.AddMinutes(to), CancellationToken.None)).Rows;

    private Task<string> RowsAsync() => _db.ScalarAsync<string>(
        "SELECT COALESCE(string_agg(concat_ws('|', user_id, action_date, action, events, sums::text), E'\\n' ORDER BY user_id, action_date, action), '') FROM user_daily_stats");

    /// <summary>Every row is what the log implies (computed whole here), and every group of the log has its row.</summary>
    private async Task ShouldMatchTheLogAsync()
    {
        var expected = await _db.ScalarAsync<string>("""
            WITH counted AS (
                SELECT e.* FROM user_action_events e
                 WHERE e.event_id > COALESCE((SELECT x.through_event_id FROM user_erasures x WHERE x.tenant_id = e.tenant_id AND x.user_id = e.user_id), 0)),
            groups AS (
                SELECT user_id, action_date, action, count(*) AS events FROM counted GROUP BY 1, 2, 3),
            sums AS (
                SELECT user_id, action_date, action, jsonb_object_agg(key, total) AS sums
                  FROM (SELECT user_id, action_date, action, m.key, sum(m.value::text::numeric) AS total
                          FROM counted, jsonb_each(measures) m GROUP BY 1, 2, 3, 4) s GROUP BY 1, 2, 3)
            SELECT COALESCE(string_agg(concat_ws('|', user_id, action_date, action, events, sums::text), E'\n' ORDER BY user_id, action_date, action), '')
              FROM groups JOIN sums USING (user_id, action_date, action)
            """);
        (await RowsAsync()).ShouldBe(expected);
    }
}
