using Shouldly;
using Tally.Contracts;
using Tally.Domain.Events;
using Tally.Postgres.Changes;
using Tally.Postgres.Webhooks;
using Tally.Testing;
using Xunit;

namespace Tally.Cluster.Tests;

/// <summary>A webhook's deliverer in a real cluster: its silo killed in the middle of a burst of changes, another silo goes
/// on from the first change not acknowledged; nothing is lost and the order holds.</summary>
[Collection(ClusterOfItsOwnCollection.Name)]
public class WebhookClusterTests : ClusterOfItsOwn
{
    private const string Config = """
        {"time_zone": "UTC", "measures": {"sales": {"min": 0}},
         "checkpoint": {"measure": "sales", "months": 4, "tiers": [{"name": "bronze", "threshold": 0}, {"name": "silver", "threshold": 100}]}}
        """;

    [Fact]
    public async Task a_silo_killed_during_delivery_loses_no_change_and_keeps_the_order()
    {
        var tenant = await Fixture.CreateTenantWithConfigAsync(Config);
        var client = Fixture.Cluster.Client;
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = _ =>
        {
            Thread.Sleep(10); // a receiver that takes a little time: the burst is still being delivered when the silo dies
            return 200;
        };
        var store = new WebhookStore(Fixture.Db.DataSource);
        await store.CreateAsync(tenant, "wh_test", receiver.Url, ChangeData.Kinds, Tally.Domain.Webhooks.WebhookSignature.NewSecret());
        var hook = client.GetGrain<IWebhookGrain>(WebhookKey.Format(tenant, "wh_test"));
        await hook.Start();

        // 150 creators enter bronze and reach silver: 300 tier changes.
        var sales = Enumerable.Range(0, 150).SelectMany(i => new[]
        {
            TestEvents.Make($"c{i}", $"c{i}-1", ClusterFixture.Now.AddDays(-3), [("sales", 40m)]),
            TestEvents.Make($"c{i}", $"c{i}-2", ClusterFixture.Now.AddDays(-2), [("sales", 80m)]),
        }).ToArray();
        (await client.GetGrain<IIngestGrain>(0).Ingest(tenant, 0, sales)).Durable.ShouldBeTrue();
        var feed = await new ChangeStore(Fixture.Db.DataSource).ReadAsync(tenant, 0, 1000, null);
        feed.Count.ShouldBe(300);
        var ids = feed.Select(c => ChangeCursor.Format(c.Seq)).ToList();

        // Kill the silo the deliverer lives on once part of the burst is delivered.
        await Eventually.WaitFor(() => Task.FromResult(receiver.Deliveries.Count), n => n >= 30, TimeSpan.FromSeconds(30), "deliveries under way");
        var home = await client.GetGrain<IManagementGrain>(0).GetActivationAddress(hook);
        home.ShouldNotBeNull();
        var silo = Fixture.Cluster.GetActiveSilos().First(s => s.SiloAddress.Equals(home));
        await Fixture.Cluster.KillSiloAsync(silo);
        receiver.Deliveries.Count.ShouldBeLessThan(300, "the kill came in the middle of the burst");

        // Its reminder brings it back within a minute; the maintenance runner's pass does it at once.
        await Eventually.WaitFor(async () =>
        {
            try { await client.GetGrain<IMaintenanceGrain>(0).ChangesNow(); } catch (Exception) { /* the runner may be moving too */ }
            return receiver.Deliveries.Select(d => d.Id).Distinct().Count();
        }, n => n == 300, TimeSpan.FromSeconds(90), "every change delivered after the kill");

        // At least once, in order: the first delivery of each change follows the feed; a change sent again after the kill
        // is one that had not been acknowledged as stored (the last ones before the kill).
        var firsts = receiver.Deliveries.Select(d => d.Id).Distinct().ToList();
        firsts.ShouldBe(ids);
        var sequence = receiver.Deliveries.Select(d => d.Id).ToList();
        for (var i = 1; i < sequence.Count; i++)
            if (string.CompareOrdinal(sequence[i], sequence[i - 1]) < 0)
                // Going back is only a resend from the first unacknowledged change: never past what was delivered before.
                sequence.IndexOf(sequence[i]).ShouldBeLessThan(i);
        (await store.GetAsync(tenant, "wh_test"))!.CursorSeq.ShouldBe(feed[^1].Seq);
    }
}
