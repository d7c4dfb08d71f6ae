using Microsoft.Extensions.Options;

namespace Tally.Silo.Hosting;

/// <summary>How this silo joins its cluster. Section <c>Tally:Silo</c>.</summary>
public sealed class SiloOptions
{
    public const string Section = "Tally:Silo";

    /// <summary>Silos and clients with the same cluster id form one cluster (membership in PostgreSQL).</summary>
    public string ClusterId { get; set; } = "tally";

    /// <summary>Identifies the service across deployments; grain state is keyed by it.</summary>
    public string ServiceId { get; set; } = "tally";

    /// <summary>Address other silos and clients use to reach this silo.</summary>
    public string AdvertisedAddress { get; set; } = "127.0.0.1";

    public int SiloPort { get; set; } = 11111;

    public int GatewayPort { get; set; } = 30000;

    /// <summary>Serve the Orleans dashboard (<c>/dashboard</c>) to other hosts. Off: only loopback requests get it (reach it
    /// with an SSH tunnel or <c>kubectl port-forward</c>); turn it on only behind a proxy that authenticates operators.</summary>
    public bool DashboardAllowRemote { get; set; }

    /// <summary>How often the dashboard samples the silo's counters. Each sample walks every activation and the directory
    /// cache; at the dashboard's own one second that took 17% of the silo's CPU during ingest with 60,000 user grains
    /// (<see cref="DashboardMetricsReader"/>, decision 025).</summary>
    public int DashboardCounterIntervalSeconds { get; set; } = 10;

    /// <summary>
    /// Where this silo also serves the HTTP API (for example <c>http://0.0.0.0:8080</c>; several separated by <c>;</c>):
    /// the same endpoints as a <c>client/Tally.Api</c> instance, calling grains inside the process instead of through
    /// the gateway (decision 024). Empty: the silo serves no API, and API instances run as processes of their own.
    /// </summary>
    public string ApiUrls { get; set; } = "";
}

internal sealed class SiloOptionsValidator : IValidateOptions<SiloOptions>
{
    public ValidateOptionsResult Validate(string? name, SiloOptions o)
    {
        if (string.IsNullOrWhiteSpace(o.ClusterId)) return ValidateOptionsResult.Fail($"{SiloOptions.Section}:ClusterId is required.");
        if (string.IsNullOrWhiteSpace(o.ServiceId)) return ValidateOptionsResult.Fail($"{SiloOptions.Section}:ServiceId is required.");
        if (!System.Net.IPAddress.TryParse(o.AdvertisedAddress, out _))
            return ValidateOptionsResult.Fail($"{SiloOptions.Section}:AdvertisedAddress must be an IP address, was '{o.AdvertisedAddress}'.");
        if (o.SiloPort is < 1 or > 65535) return ValidateOptionsResult.Fail($"{SiloOptions.Section}:SiloPort must be 1-65535.");
        if (o.GatewayPort is < 1 or > 65535) return ValidateOptionsResult.Fail($"{SiloOptions.Section}:GatewayPort must be 1-65535.");
        if (o.DashboardCounterIntervalSeconds is < 1 or > 3600)
            return ValidateOptionsResult.Fail($"{SiloOptions.Section}:DashboardCounterIntervalSeconds must be 1-3600, was {o.DashboardCounterIntervalSeconds}.");
        foreach (var url in o.ApiUrls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            // Kestrel's "any address" hosts (* and +) are not host names to Uri.
            if (!Uri.TryCreate(url.Replace("://*", "://any").Replace("://+", "://any"), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                return ValidateOptionsResult.Fail($"{SiloOptions.Section}:ApiUrls must be http(s) URLs separated by ';', was '{o.ApiUrls}'.");
        return ValidateOptionsResult.Success;
    }
}
