using System.Diagnostics;
using System.Text.Json.Nodes;
using Shouldly;
using Xunit;

namespace Tally.Api.Tests;

/// <summary>The TypeScript client (clients/typescript): its checked-in OpenAPI document is the one the API serves, and
/// its <c>node --test</c> suite passes against this fixture's API (deploy/local/test builds the package first).</summary>
[Collection(ApiCollection.Name)]
public class TypeScriptClientTests(ApiFixture fixture) : ApiTestBase(fixture)
{
    private static string Package() => Path.Combine(Repository.Root, "clients", "typescript");

    [Fact]
    public async Task the_checked_in_openapi_document_is_the_one_the_api_serves()
    {
        var served = JsonNode.Parse(await Fixture.Http.GetStringAsync("/openapi/v1.json"))!.AsObject();
        served.Remove("servers"); // names the host it was fetched from
        var checkedIn = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Package(), "openapi.json")))!;
        JsonNode.DeepEquals(served, checkedIn).ShouldBeTrue(
            "clients/typescript/openapi.json differs from the API's document: run deploy/local/up, then clients/typescript/generate, and commit both files");
    }

    [Fact]
    public async Task the_node_test_suite_passes_against_the_running_api()
    {
        var package = Package();
        File.Exists(Path.Combine(package, "dist", "index.js")).ShouldBeTrue("clients/typescript is not built: deploy/local/test runs npm ci and npm run build first");
        var t = await Fixture.CreateTenantAsync();
        var start = new ProcessStartInfo("node", ["--test", "test/"])
        {
            WorkingDirectory = package, RedirectStandardOutput = true, RedirectStandardError = true,
            Environment =
            {
                ["TALLY_URL"] = Fixture.Http.BaseAddress!.ToString().TrimEnd('/'),
                ["TALLY_TEST_INGEST_KEY"] = t.IngestKey,
                ["TALLY_TEST_READ_KEY"] = t.ReadKey,
                // Events dated within the fixture's clock (its now is not the machine's).
                ["TALLY_TEST_NOW"] = Fixture.Clock.GetUtcNow().AddHours(-1).ToString("O"),
            },
        };
        using var node = Process.Start(start)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var error = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await node.WaitForExitAsync(timeout.Token);
        var text = await output + await error;
        node.ExitCode.ShouldBe(0, text);
        text.ShouldContain("# pass 4");
    }
}
