using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Shouldly;
using Tally.Silo.Hosting;
using Xunit;

namespace Tally.Cluster.Tests;

/// <summary>A silo with a setting it cannot honour refuses to start and names the setting.</summary>
public class SiloOptionsTests
{
    [Theory]
    [InlineData("ftp://127.0.0.1:8080")]
    [InlineData("127.0.0.1:8080")]
    [InlineData("http://127.0.0.1:8080;not a url")]
    public void an_api_url_that_is_not_http_stops_the_silo_at_start(string urls)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Tally:Silo:ApiUrls"] = urls });
        var error = Should.Throw<OptionsValidationException>(() => builder.AddTallySilo());
        error.Message.ShouldContain("Tally:Silo:ApiUrls");
    }

    [Theory]
    [InlineData("")]
    [InlineData("http://*:8080")]
    [InlineData("http://0.0.0.0:8080;https://+:8443")]
    public void kestrel_urls_or_none_are_accepted(string urls)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Tally:Silo:ApiUrls"] = urls,
            ["Tally:Postgres:ConnectionString"] = "Host=127.0.0.1;Database=unused",
        });
        Should.NotThrow(() => builder.AddTallySilo());
    }
}
