using Shouldly;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>A silo serving the API itself (Tally:Silo:ApiUrls, decision 024) answers as an API instance of its own does.</summary>
[Collection(ApiCollection.Name)]
public class SiloHostedApiTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    [Fact]
    public async Task the_silos_own_api_writes_and_reads_the_same_data_as_a_separate_instance()
    {
        using var hosted = await Fixture.StartSiloHostedApiAsync();
        var t = await Fixture.CreateTenantAsync("UTC");

        // Written through the silo's API, read through a separate instance; then the other way round.
        var (status, body) = await Post(t.IngestKey, Batch(Event("h", "k1", 2.5m), Event("h", "k1", 2.5m)), hosted);
        status.ShouldBe(200);
        body["accepted"]!.GetValue<int>().ShouldBe(1);
        body["duplicates"]!.GetValue<int>().ShouldBe(1);
        var (_, separate) = await Get(t.ReadKey, "/v1/users/h/stats");
        separate!["measures"]!["co2_saved_kg"]!["all_time"]!.GetValue<decimal>().ShouldBe(2.5m);

        await Post(t.IngestKey, Batch(Event("h", "k2", 1m)));
        var (readStatus, own) = await Get(t.ReadKey, "/v1/users/h/stats", hosted);
        readStatus.ShouldBe(200);
        own!["measures"]!["co2_saved_kg"]!["all_time"]!.GetValue<decimal>().ShouldBe(3.5m);
        own["ranks"]!["co2_saved_kg"]!["global"]!["all_time"]!.GetValue<long>().ShouldBe(1);

        // The same pipeline: authentication, and bad input named by field and changing nothing.
        (await Get("tly_read_not-a-key", "/v1/users/h/stats", hosted)).Status.ShouldBe(401);
        var (badStatus, bad) = await Post(t.IngestKey, Batch(Event("h", "k3", -1m)), hosted);
        badStatus.ShouldBe(200);
        bad["results"]![0]!["error"]!["field"]!.GetValue<string>().ShouldBe("events[0].measures.co2_saved_kg");
        var (_, after) = await Get(t.ReadKey, "/v1/users/h/stats");
        after!["measures"]!["co2_saved_kg"]!["all_time"]!.GetValue<decimal>().ShouldBe(3.5m);

        var (readyStatus, ready) = await Get(null, "/health/ready", hosted);
        readyStatus.ShouldBe(200);
        ready!["checks"]!["cluster"]!["active_silos"]!.GetValue<int>().ShouldBe(1);

        // Its /metrics (the silo's meter provider) shows the process: the API's request series and the silo's commit series.
        var metrics = await (await Fixture.Send(HttpMethod.Get, "/metrics", null, via: hosted)).Content.ReadAsStringAsync();
        metrics.ShouldContain("http_server_request_duration_seconds_bucket");
        metrics.ShouldContain("tally_eventlog_rows_total");
    }
}
