using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Shouldly;
using Tally.Postgres.EventLog;
using Tally.Testing;
using Xunit;

namespace Tally.Cluster.Tests;

/// <summary>
/// What keeps one caller of the event log from hurting the others, on a real database: a row PostgreSQL
/// refuses fails only its own call, a full queue refuses at once without writing, and concurrent
/// creators of the same new month's partition never fail a commit.
/// </summary>
public class EventLogGuardTests : IAsyncLifetime
{
    private TestDatabase _db = null!;
    private readonly CancellationTokenSource _stop = new();

    public async Task InitializeAsync() => _db = await TestDatabase.CreateAsync("guards");

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        await _db.DisposeAsync();
    }

    private (EventLogWriter Writer, EventLogReader Reader) Create(EventLogOptions options)
    {
        var o = Options.Create(options);
        return (new EventLogWriter(_db.DataSource, new PartitionMaintainer(_db.DataSource), o, TestMeters.Factory, NullLogger<EventLogWriter>.Instance),
            new EventLogReader(_db.DataSource, o, NullLogger<EventLogReader>.Instance));
    }

    private static EventLogRow Row(string tenant, string user, long epoch, string key) =>
        new(tenant, epoch, new DateOnly(2025, 11, 22), DateTimeOffset.UtcNow, TestEvents.Make(user, key, DateTimeOffset.Parse("2025-11-22T10:00:00Z"), [("co2", 1m)]));

    [Fact]
    public async Task a_row_postgres_refuses_fails_only_its_own_call_and_the_rest_of_the_batch_commits()
    {
        // A long linger puts all three calls into one group commit.
        var (writer, reader) = Create(new EventLogOptions { LingerMs = 200 });
        await writer.StartAsync(_stop.Token);
        await reader.StartAsync(_stop.Token);
        var poisoned = "bad\0user"; // validation refuses this; here it reaches the writer as a bug or a bypass would
        var epochs = new Dictionary<string, long>();
        foreach (var user in new[] { "good1", "good2" }) epochs[user] = (await reader.LoadUserAsync("b", user)).Epoch;

        var bad = writer.AppendAsync([Row("a", poisoned, 1, "k-bad")]);
        var good1 = writer.AppendAsync([Row("b", "good1", epochs["good1"], "k1"), Row("b", "good1", epochs["good1"], "k2")]);
        var good2 = writer.AppendAsync([Row("b", "good2", epochs["good2"], "k3")]);

        await Should.ThrowAsync<EventLogRejectedException>(() => bad);
        (await good1).ShouldAllBe(id => id > 0);
        (await good2).ShouldAllBe(id => id > 0);
        (await _db.ScalarAsync<long>("SELECT count(*) FROM user_action_events WHERE tenant_id = 'b'")).ShouldBe(3);
        (await _db.ScalarAsync<long>("SELECT count(*) FROM event_dedup WHERE tenant_id = 'a'")).ShouldBe(0);
        await writer.StopAsync(CancellationToken.None);
        await reader.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task a_full_queue_refuses_a_call_at_once_and_writes_nothing_of_it()
    {
        var (writer, reader) = Create(new EventLogOptions { MaxQueuedRows = 10 });
        await reader.StartAsync(_stop.Token);
        var epoch = (await reader.LoadUserAsync("q", "u")).Epoch;
        // The writer is not started yet, so what is appended stays queued.
        var queued = writer.AppendAsync(Enumerable.Range(0, 8).Select(i => Row("q", "u", epoch, $"k{i}")).ToArray());
        var refused = writer.AppendAsync(Enumerable.Range(8, 5).Select(i => Row("q", "u", epoch, $"k{i}")).ToArray());
        refused.IsFaulted.ShouldBeTrue();
        await Should.ThrowAsync<EventLogOverloadedException>(() => refused);

        await writer.StartAsync(_stop.Token);
        (await queued).ShouldAllBe(id => id > 0);
        (await _db.ScalarAsync<long>("SELECT count(*) FROM event_dedup WHERE tenant_id = 'q'")).ShouldBe(8);
        // With room again, the refused call goes through.
        (await writer.AppendAsync(Enumerable.Range(8, 5).Select(i => Row("q", "u", epoch, $"k{i}")).ToArray())).ShouldAllBe(id => id > 0);
        await writer.StopAsync(CancellationToken.None);
        await reader.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task concurrent_first_events_of_new_months_never_fail_on_partition_creation()
    {
        // The reproducer: many committers meeting the same 20 new months at once. Each maintainer
        // has its own memory of known months, as separate silos do.
        var months = Enumerable.Range(0, 20).Select(i => new DateOnly(2091, 1, 15).AddMonths(i)).ToArray();
        var creators = Enumerable.Range(0, 8).Select(_ => Task.Run(() => new PartitionMaintainer(_db.DataSource).EnsureAsync(months))).ToArray();
        await Task.WhenAll(creators);
        (await _db.ScalarAsync<long>("SELECT count(*) FROM pg_class WHERE relkind = 'r' AND relname LIKE 'user_action_events_y209%'")).ShouldBe(20);
    }
}
