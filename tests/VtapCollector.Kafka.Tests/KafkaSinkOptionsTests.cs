namespace VtapCollector.Kafka.Tests;

public sealed class KafkaSinkOptionsTests
{
    [Fact]
    public void Defaults_WithBootstrapServers_AreValid_AndSafe()
    {
        Assert.Null(new KafkaSinkOptions { BootstrapServers = "kafka:9092" }.Validate());
        var defaults = KafkaSinkOptions.ProducerDefaults;
        Assert.Equal("all", defaults["acks"]);
        Assert.Equal("true", defaults["enable.idempotence"]);
        Assert.Equal("lz4", defaults["compression.type"]);
        Assert.Equal("0", defaults["message.timeout.ms"]);
    }

    public static TheoryData<string, KafkaSinkOptions> Invalid => new()
    {
        { "Sinks:Kafka:BootstrapServers", new KafkaSinkOptions() },
        { "Sinks:Kafka:Topic", Valid(o => new KafkaSinkOptions { BootstrapServers = o.BootstrapServers, Topic = "flows/ipv4" }) },
        { "Sinks:Kafka:Topic", Valid(o => new KafkaSinkOptions { BootstrapServers = o.BootstrapServers, Topic = ".." }) },
        { "Sinks:Kafka:Producer:bootstrap.servers", WithProducer("bootstrap.servers", "x:1") },
        { "Sinks:Kafka:Producer:queue.buffering.max.messages", WithProducer("queue.buffering.max.messages", "5") },
        { "Sinks:Kafka:Producer:dotnet.producer.delivery.report.fields", WithProducer("dotnet.producer.delivery.report.fields", "all") },
        { "Sinks:Kafka:QueueMaxRecords", Valid(o => new KafkaSinkOptions { BootstrapServers = o.BootstrapServers, QueueMaxRecords = 0 }) },
        { "Sinks:Kafka:SpoolDirectory", Valid(o => new KafkaSinkOptions { BootstrapServers = o.BootstrapServers, SpoolDirectory = " " }) },
        { "Sinks:Kafka:SpoolSegmentBytes", Valid(o => new KafkaSinkOptions { BootstrapServers = o.BootstrapServers, SpoolSegmentBytes = 1000 }) },
        { "Sinks:Kafka:SpoolMaxBytes", Valid(o => new KafkaSinkOptions { BootstrapServers = o.BootstrapServers, SpoolMaxBytes = 100L * 1024 * 1024 }) },
        { "Sinks:Kafka:SpoolFsync", Valid(o => new KafkaSinkOptions { BootstrapServers = o.BootstrapServers, SpoolFsync = (SpoolFsyncPolicy)9 }) },
        { "Sinks:Kafka:SpoolOverflow", Valid(o => new KafkaSinkOptions { BootstrapServers = o.BootstrapServers, SpoolOverflow = (SpoolOverflowPolicy)9 }) },
        { "Sinks:Kafka:ReadyWatermarkBytes", Valid(o => new KafkaSinkOptions { BootstrapServers = o.BootstrapServers, ReadyWatermarkBytes = 2L * 1024 * 1024 * 1024 }) },
        { "Sinks:Kafka:ShutdownTimeout", Valid(o => new KafkaSinkOptions { BootstrapServers = o.BootstrapServers, ShutdownTimeout = TimeSpan.FromSeconds(-1) }) },
        { "Sinks:Kafka:SpoolRetryInterval", Valid(o => new KafkaSinkOptions { BootstrapServers = o.BootstrapServers, SpoolRetryInterval = TimeSpan.Zero }) },
        { "Sinks:Kafka:ReportInterval", Valid(o => new KafkaSinkOptions { BootstrapServers = o.BootstrapServers, ReportInterval = TimeSpan.Zero }) },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void InvalidSetting_IsReportedInOneSentenceNamingItsKey(string key, KafkaSinkOptions options)
    {
        var error = options.Validate();
        Assert.NotNull(error);
        Assert.Contains(key, error, StringComparison.Ordinal);
        Assert.EndsWith(".", error, StringComparison.Ordinal);
    }

    private static KafkaSinkOptions Valid(Func<KafkaSinkOptions, KafkaSinkOptions> change) => change(new KafkaSinkOptions { BootstrapServers = "kafka:9092" });

    private static KafkaSinkOptions WithProducer(string name, string value)
    {
        var options = new KafkaSinkOptions { BootstrapServers = "kafka:9092" };
        options.Producer[name] = value;
        return options;
    }
}
