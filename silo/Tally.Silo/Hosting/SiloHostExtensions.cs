using System.Net;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Dashboard;
using Tally.Grains.Hosting;
using Tally.Observability;
using Tally.Postgres.Hosting;

namespace Tally.Silo.Hosting;

public static class SiloHostExtensions
{
    /// <summary>A production silo: ADO.NET clustering and reminders on PostgreSQL, Tally grains, the dashboard.</summary>
    public static WebApplicationBuilder AddTallySilo(this WebApplicationBuilder builder)
    {
        var config = builder.Configuration;
        var silo = config.GetSection(SiloOptions.Section).Get<SiloOptions>() ?? new SiloOptions();
        var validation = new SiloOptionsValidator().Validate(null, silo);
        if (validation.Failed) throw new OptionsValidationException(SiloOptions.Section, typeof(SiloOptions), [validation.FailureMessage]);
        var connectionString = PostgresOptions.ConnectionStringFrom(config);
        builder.AddTallyObservability("tally-silo");

        builder.UseOrleans(orleans =>
        {
            orleans.AddTally(config);
            orleans.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = silo.ClusterId;
                o.ServiceId = silo.ServiceId;
            });
            orleans.ConfigureEndpoints(IPAddress.Parse(silo.AdvertisedAddress), silo.SiloPort, silo.GatewayPort, listenOnAnyHostAddress: false);
            orleans.UseAdoNetClustering(o =>
            {
                o.Invariant = PostgresOptions.AdoNetInvariant;
                o.ConnectionString = connectionString;
            });
            orleans.UseAdoNetReminderService(o =>
            {
                o.Invariant = PostgresOptions.AdoNetInvariant;
                o.ConnectionString = connectionString;
            });
            orleans.AddDashboard();
        });
        return builder;
    }

    public static WebApplication MapTallySiloEndpoints(this WebApplication app)
    {
        app.MapGet("/health/live", () => Results.Ok(new { status = "live" }));
        app.MapTallyMetrics();
        app.MapOrleansDashboard("/dashboard");
        return app;
    }
}
