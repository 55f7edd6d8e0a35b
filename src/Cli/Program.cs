using Hive.Cli;

return await HiveCli.RunAsync(args);
