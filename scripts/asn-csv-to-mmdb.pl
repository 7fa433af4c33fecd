#!/usr/bin/perl
# Converts the ip-location-db AS ranges (CSV: first,last,asn,org; IPv4 and IPv6) into a MaxMind
# DB file with the fields autonomous_system_number and autonomous_system_organization, using
# Debian's libmaxmind-db-writer-perl. kansoku does not use it by default (its own AS table is
# built much faster, see src/geo/README.md); it is kept to reproduce the measurement.
#
# Usage: asn-csv-to-mmdb.pl OUT.mmdb asn-ipv4.csv [asn-ipv6.csv]
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my ($out, @inputs) = @ARGV;
die "usage: $0 OUT.mmdb CSV...\n" unless defined $out && @inputs;

my %types = (
    autonomous_system_number       => 'uint32',
    autonomous_system_organization => 'utf8_string',
);
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version              => 6,
    record_size             => 32,
    database_type           => 'kansoku-ASN',
    languages               => ['en'],
    description             => { en => 'IP to AS number and organisation (RouteViews, DB-IP)' },
    map_key_type_callback   => sub { $types{ $_[0] } },
    alias_ipv6_to_ipv4      => 0,
    remove_reserved_networks => 0,
    merge_strategy          => 'none',
);

my %cache;    # one data hash per (asn, org), so that the writer deduplicates cheaply
for my $csv (@inputs) {
    open(my $fh, '<:encoding(UTF-8)', $csv) or die "$csv: $!\n";
    while (my $line = <$fh>) {
        chomp $line;
        my ($first, $last, $asn, $rest) = split /,/, $line, 4;
        next unless defined $rest && $asn =~ /^\d+$/;
        my $org = $rest;
        if ($org =~ /^"(.*)"$/s) {
            $org = $1;
            $org =~ s/""/"/g;
        }
        $first = "::$first" if $first =~ /^\d+\.\d+\.\d+\.\d+$/;
        $last  = "::$last"  if $last =~ /^\d+\.\d+\.\d+\.\d+$/;
        my $data = $cache{"$asn\t$org"} //= {
            autonomous_system_number       => $asn + 0,
            autonomous_system_organization => $org,
        };
        $tree->insert_range($first, $last, $data);
    }
    close $fh;
}
open(my $ofh, '>:raw', $out) or die "$out: $!\n";
$tree->write_tree($ofh);
close $ofh or die "$out: $!\n";
