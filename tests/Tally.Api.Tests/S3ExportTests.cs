using System.Net;
using System.Text.Json.Nodes;
using Amazon.S3.Model;
using Shouldly;
using Tally.Contracts;
using Tally.Postgres.Lifecycle;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>Continuous export to an S3-compatible bucket (API.md, Raw event collection), against a real S3 server on
/// loopback (s3rver, started by deploy/local/test): uploaded, read back and verified, restorable from the bucket, and a
/// crash between upload and marking costs nothing but a rewrite of the same objects.</summary>
[Collection(ApiCollection.Name)]
public class S3ExportTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    private static JsonObject Config(JsonObject export) => new()
    {
        ["time_zone"] = "UTC",
        ["measures"] = new JsonObject { ["events"] = new JsonObject { ["min"] = 0 } },
        ["dimensions"] = new JsonArray("event_type"),
        ["export"] = export,
    };

    private static JsonObject S3Sink(string bucket) => new()
    {
        ["type"] = "s3", ["bucket"] = bucket, ["prefix"] = "tally/raw", ["credentials"] = ApiFixture.S3CredentialsName,
    };

    private async Task<string> BucketAsync(S3ExportStore store)
    {
        var bucket = "tally-" + Guid.NewGuid().ToString("N")[..10];
        await store.Client.PutBucketAsync(bucket);
        return bucket;
    }

    private async Task CollectAsync(TestTenant t, params string[] types)
    {
        var events = new JsonArray(types.Select(type => (JsonNode)new JsonObject
        {
            ["event_type"] = type, ["timestamp"] = "2025-11-22T11:00:00Z", ["event_id"] = Guid.NewGuid().ToString(),
            ["visitor_id"] = "v1", ["url"] = "https://shop.example/", ["data"] = new JsonObject { ["x"] = 1 },
        }).ToArray());
        var response = await Fixture.Send(HttpMethod.Post, "/v1/collect", t.IngestKey, new JsonObject { ["events"] = events });
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    private static async Task<Dictionary<string, string>> ObjectsAsync(S3ExportStore store, string bucket)
    {
        var page = await store.Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket });
        return (page.S3Objects ?? []).ToDictionary(o => o.Key, o => o.ETag);
    }

    [Fact]
    public async Task an_s3_sink_gets_verified_batches_with_a_directory_backup_and_restores_from_the_bucket()
    {
        using var store = new S3ExportStore(Fixture.S3);
        var bucket = await BucketAsync(store);
        var backup = "s3-backup-" + Guid.NewGuid().ToString("N")[..6];
        var t = await Fixture.CreateTenantAsync(Config(new JsonObject
        {
            ["every_minutes"] = 60, ["delay_minutes"] = 0, ["keep_hours"] = 0,
            ["sink"] = S3Sink(bucket), ["backup_sink"] = new JsonObject { ["type"] = "directory", ["path"] = backup },
        }));
        await CollectAsync(t, "page_view", "click", "scroll");

        await Fixture.Cluster.GetGrain<IMaintenanceGrain>(0).ExportNow();

        var (_, exports) = await Get(t.ReadKey, "/v1/exports");
        exports!["pending_events"]!.GetValue<long>().ShouldBe(0);
        var batch = exports["batches"]!.AsArray().Single(b => (long)b!["rows"]! > 0)!;
        batch["rows"]!.GetValue<long>().ShouldBe(3);
        batch["error"].ShouldBeNull();
        batch["sinks"]!.AsArray().Select(x => (string)x!).ShouldBe([$"s3:{bucket}/tally/raw", $"directory:{backup}"]);
        var folder = $"tally/raw/{t.Id}/";
        var objects = await ObjectsAsync(store, bucket);
        objects.Keys.ShouldAllBe(k => k.StartsWith(folder));
        var batchFolder = objects.Keys.Single(k => k.EndsWith("/manifest.json"))[..^"/manifest.json".Length];
        batchFolder.ShouldEndWith($"/{batch["first_event_id"]}-{batch["last_event_id"]}");
        objects.Keys.Order().ShouldBe([$"{batchFolder}/events-0001.ndjson.gz", $"{batchFolder}/manifest.json"]);
        var staging = Path.Combine(Fixture.ExportDirectory, ".staging", t.Id);
        (Directory.Exists(staging) ? Directory.GetFiles(staging, "*", SearchOption.AllDirectories) : []).ShouldBeEmpty("the staging copy goes once the batch is marked");

        // keep_hours 0: the exported events left the log; the bucket's copy puts them back (docs/operations.md).
        (await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM user_action_events WHERE tenant_id = @t", ("t", t.Id))).ShouldBe(0);
        var (exit, output, error) = await WithOperatorEnvironment(() => Tally.Cli.Tests.CliRun.RunAsync(
            "restore", "--pg", Fixture.Db.ConnectionString, $"s3://{bucket}/{batchFolder}", "--credentials", ApiFixture.S3CredentialsName));
        exit.ShouldBe(0, output + error);
        output.ShouldContain("restored 3 rows");
        (await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM user_action_events WHERE tenant_id = @t", ("t", t.Id))).ShouldBe(3);
    }

    /// <summary>Runs a CLI command with the settings the silos have in their environment: the credential sets and the
    /// reconciliation lag (the test process's environment, put back afterwards).</summary>
    private async Task<T> WithOperatorEnvironment<T>(Func<Task<T>> run)
    {
        var prefix = $"Tally__Export__Credentials__{ApiFixture.S3CredentialsName}__";
        var environment = new Dictionary<string, string?>
        {
            [prefix + "ServiceUrl"] = Fixture.S3.ServiceUrl, [prefix + "AccessKey"] = Fixture.S3.AccessKey, [prefix + "SecretKey"] = Fixture.S3.SecretKey,
            [prefix + "Tenants__0"] = "*", ["Tally__Boards__ReconcileLagSeconds"] = "0",
        };
        try
        {
            foreach (var (name, value) in environment) Environment.SetEnvironmentVariable(name, value);
            return await run();
        }
        finally
        {
            foreach (var name in environment.Keys) Environment.SetEnvironmentVariable(name, null);
        }
    }

    private sealed class Crash() : Exception("the process died between upload and marking");

    [Fact]
    public async Task a_crash_between_upload_and_marking_rewrites_the_same_objects_and_exports_each_event_once()
    {
        using var store = new S3ExportStore(Fixture.S3);
        var bucket = await BucketAsync(store);
        var exportConfig = new JsonObject { ["every_minutes"] = 60, ["delay_minutes"] = 0, ["keep_hours"] = 24, ["sink"] = S3Sink(bucket) };
        var tenantConfig = Config(exportConfig);
        var config = Tally.Postgres.Tenants.TenantConfigCache.TryParseStored(tenantConfig.ToJsonString())!.Export!;
        var t = await Fixture.CreateTenantAsync(tenantConfig);
        await CollectAsync(t, "page_view", "click");
        var options = new ExportOptions
        {
            Directory = Fixture.ExportDirectory,
            Credentials = { [ApiFixture.S3CredentialsName] = Fixture.S3 },
        };

        var crashing = new ContinuousExport(Fixture.Db.DataSource) { AfterStored = _ => throw new Crash() };
        var now = DateTimeOffset.UtcNow.AddSeconds(1);
        await Should.ThrowAsync<Crash>(() => crashing.RunAsync(t.Id, config, options, now, now, force: true));

        var uploaded = await ObjectsAsync(store, bucket);
        uploaded.Count.ShouldBe(2, "the files and the manifest were stored before the crash");
        var (_, during) = await Get(t.ReadKey, "/v1/exports");
        during!["pending_events"]!.GetValue<long>().ShouldBe(2, "not marked: the events still count as unexported");
        during["batches"]![0]!["exported_at"].ShouldBeNull();
        var pendingId = during["batches"]![0]!["id"]!.GetValue<long>();

        // The next run (the silo's maintenance job) finishes the same batch under the same names.
        await Fixture.Cluster.GetGrain<IMaintenanceGrain>(0).ExportNow();
        var (_, after) = await Get(t.ReadKey, "/v1/exports");
        after!["pending_events"]!.GetValue<long>().ShouldBe(0);
        var exported = after["batches"]!.AsArray().Where(b => b!["exported_at"] is not null).ToList();
        exported.Select(b => (long)b!["id"]!).ShouldContain(pendingId);
        exported.Sum(b => (long)b!["rows"]!).ShouldBe(2, "each event exported once");
        var final = await ObjectsAsync(store, bucket);
        final.Keys.Order().ShouldBe(uploaded.Keys.Order(), "a retry writes the same names, nothing beside them");
        final.ShouldAllBe(o => uploaded[o.Key] == o.Value, "the same bytes: the staged batch is uploaded again");
    }

    [Theory]
    [InlineData("not-configured", "not in the operator's configuration")]
    [InlineData("reserved", "not open to tenant")]
    public async Task a_credential_set_the_tenant_may_not_use_fails_the_batch_with_a_clear_error_and_exports_nothing(string set, string error)
    {
        var sink = S3Sink("tally-nowhere");
        sink["credentials"] = set;
        var t = await Fixture.CreateTenantAsync(Config(new JsonObject { ["every_minutes"] = 60, ["delay_minutes"] = 0, ["keep_hours"] = 0, ["sink"] = sink }));
        await CollectAsync(t, "page_view");

        await Fixture.Cluster.GetGrain<IMaintenanceGrain>(0).ExportNow();

        var (_, exports) = await Get(t.ReadKey, "/v1/exports");
        exports!["pending_events"]!.GetValue<long>().ShouldBe(1);
        var batch = exports["batches"]![0]!;
        batch["exported_at"].ShouldBeNull();
        batch["error"]!.GetValue<string>().ShouldContain(error);
        (await Fixture.Db.ScalarAsync<long>("SELECT count(*) FROM user_action_events WHERE tenant_id = @t", ("t", t.Id))).ShouldBe(1, "never removed unexported");
    }

    [Fact]
    public async Task tally_maintain_export_runs_a_batch_now_with_the_credentials_of_its_environment()
    {
        using var store = new S3ExportStore(Fixture.S3);
        var bucket = await BucketAsync(store);
        var t = await Fixture.CreateTenantAsync(Config(new JsonObject { ["every_minutes"] = 1440, ["delay_minutes"] = 0, ["keep_hours"] = 24, ["sink"] = S3Sink(bucket) }));
        // An empty batch now: the silo's own runner waits every_minutes (a day) for the next, so only the command exports below.
        await Fixture.Cluster.GetGrain<IMaintenanceGrain>(0).ExportNow();
        await CollectAsync(t, "page_view", "click");
        (await Get(t.ReadKey, "/v1/exports")).Body!["pending_events"]!.GetValue<long>().ShouldBe(2);

        // The command reads what the silos read from its environment: the credential sets and the reconciliation lag.
        var (exit, output, error) = await WithOperatorEnvironment(() => Tally.Cli.Tests.CliRun.RunAsync("maintain", "--pg", Fixture.Db.ConnectionString,
            "--export", "--tenant", t.Id, "--no-create-partitions", "--no-analyze", "--export-dir", Fixture.ExportDirectory));
        exit.ShouldBe(0, output + error);
        output.ShouldContain($"s3:{bucket}/tally/raw");

        var (_, exports) = await Get(t.ReadKey, "/v1/exports");
        exports!["pending_events"]!.GetValue<long>().ShouldBe(0);
        exports["batches"]![0]!["rows"]!.GetValue<long>().ShouldBe(2);
        (await ObjectsAsync(store, bucket)).Keys.Count(k => k.EndsWith("/manifest.json")).ShouldBe(1);
    }
}
