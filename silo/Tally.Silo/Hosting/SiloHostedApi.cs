using Tally.Api.Hosting;

namespace Tally.Silo.Hosting;

/// <summary>
/// The HTTP API served by a silo's own process (<see cref="SiloOptions.ApiUrls"/>, decision 024): a host of its own with
/// the same services and endpoints as a <c>client/Tally.Api</c> instance, whose grain calls go to the silo in-process
/// instead of over the gateway. The silo's lifetime drives it: on a stop signal the API stops taking requests first,
/// then the silo saves its users and leaves the cluster.
/// </summary>
public static class SiloHostedApi
{
    /// <summary>Runs the silo, and the API in the same process when <see cref="SiloOptions.ApiUrls"/> is set, until shut down.</summary>
    public static async Task RunAsync(WebApplication silo, string[] args)
    {
        var urls = silo.Configuration.GetSection(SiloOptions.Section).Get<SiloOptions>()?.ApiUrls;
        if (string.IsNullOrWhiteSpace(urls))
        {
            await silo.RunAsync();
            return;
        }
        await silo.StartAsync();
        WebApplication api;
        try
        {
            api = await StartAsync(silo, urls, args);
        }
        catch
        {
            // An API that cannot start (its port taken, a bad setting) stops the process: a silo alone is not what was asked for.
            await silo.StopAsync();
            throw;
        }
        await using var _ = api;
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (silo.Lifetime.ApplicationStopping.Register(() => stopping.TrySetResult()))
            await stopping.Task;
        await api.StopAsync();
        await silo.StopAsync();
    }

    /// <summary>
    /// Starts the API on <paramref name="urls"/> with the cluster client and meter provider of the silo, configured from the same sources as
    /// the silo (its content root's settings, the environment, <paramref name="args"/>); <paramref name="configure"/> may
    /// add settings and services before it is built (tests give it theirs).
    /// </summary>
    public static async Task<WebApplication> StartAsync(WebApplication silo, string urls, string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = silo.Environment.ContentRootPath,
            EnvironmentName = silo.Environment.EnvironmentName,
        });
        configure?.Invoke(builder);
        // After every source: the silo's own --urls and Urls setting are for its health, metrics and dashboard port.
        builder.WebHost.UseUrls(urls);
        // Stop signals are the silo's to handle (see RunAsync); this host is stopped by it.
        builder.Services.AddSingleton<IHostLifetime, StoppedByTheSilo>();
        builder.AddTallyApi(silo.Services);
        var api = builder.Build();
        api.MapTallyApi();
        await api.StartAsync();
        return api;
    }

    private sealed class StoppedByTheSilo : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
