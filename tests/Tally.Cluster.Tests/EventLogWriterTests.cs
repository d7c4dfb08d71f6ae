using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Shouldly;
using Tally.Postgres.EventLog;
using Tally.Testing;
using Xunit;

namespace Tally.Cluster.Tests;

public class EventLogWriterTests
{
    [Fact]
    public async Task an_unreachable_database_is_reported_as_not_durable()
    {
        // Nothing listens on port 1: every commit fails, and callers must hear so rather than an ack.
        await using var dataSource = NpgsqlDataSource.Create("Host=127.0.0.1;Port=1;Username=x;Database=x;Timeout=2");
        var writer = new EventLogWriter(dataSource, new PartitionMaintainer(dataSource), Options.Create(new EventLogOptions()), TestMeters.Factory, NullLogger<EventLogWriter>.Instance);
        using var cts = new CancellationTokenSource();
        await writer.StartAsync(cts.Token);
        var row = new EventLogRow("t", 1, new DateOnly(2025, 11, 22), DateTimeOffset.UtcNow, Tally.Testing.TestEvents.Make("u", "k", DateTimeOffset.UtcNow, [("m", 1m)]));
        await Should.ThrowAsync<EventLogUnavailableException>(() => writer.AppendAsync([row]));
        await cts.CancelAsync();
        await writer.StopAsync(CancellationToken.None);
    }
}
