using Tally.Cli;

return await CliApp.RunAsync(args);
