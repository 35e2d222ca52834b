#!/usr/bin/perl
# schema.pl SCHEMA.json FILE [--lines]: checks a JSON document (or, with
# --lines, each line of a JSON-lines file) against the subset of JSON
# Schema 2020-12 that results/*.schema.json use: type (one or a list),
# enum, required, properties, additionalProperties (a schema, or false),
# items,
# pattern, minimum, $ref to #/$defs/NAME.  Prints the first violation
# with its JSON path and exits 1; exits 0 when every document conforms.
use strict;
use warnings;
use JSON::PP;

my ($schema_file, $file, $lines) = @ARGV;
sub slurp { local $/; open my $f, '<', $_[0] or die "$_[0]: $!\n"; <$f> }
my $root = decode_json(slurp($schema_file));

sub type_of {
    my $v = shift;
    return 'null' unless defined $v;
    return 'object' if ref $v eq 'HASH';
    return 'array' if ref $v eq 'ARRAY';
    return 'boolean' if JSON::PP::is_bool($v);
    my $b = B::svref_2object(\$v);
    my $f = $b->FLAGS;
    return ($f & B::SVp_IOK()) ? 'integer' : 'number' if $f & (B::SVp_IOK() | B::SVp_NOK());
    return 'string';
}
use B;

sub check {
    my ($s, $v, $path) = @_;
    if (my $r = $s->{'$ref'}) {
        (my $name = $r) =~ s{^#/\$defs/}{};
        $s = $root->{'$defs'}{$name} or return "$path: unknown \$ref $r";
    }
    my $t = type_of($v);
    if (my $want = $s->{type}) {
        my @w = ref $want ? @$want : ($want);
        my $ok = grep { $_ eq $t || ($_ eq 'number' && $t eq 'integer') } @w;
        return "$path: expected " . join('|', @w) . ", got $t" unless $ok;
    }
    if (my $e = $s->{enum}) {
        return "$path: expected one of " . join(', ', @$e) . ", got " . (defined $v ? $v : 'null')
            unless grep { defined $v && $_ eq $v } @$e;
    }
    return undef unless defined $v;
    if ($t eq 'object') {
        for my $k (@{ $s->{required} || [] }) {
            return "$path: missing '$k'" unless exists $v->{$k};
        }
        for my $k (sort keys %$v) {
            my $sub = $s->{properties}{$k} // $s->{additionalProperties};
            return "$path: unexpected '$k'"
                if JSON::PP::is_bool($sub) && !$sub;
            next unless ref $sub eq 'HASH';
            my $err = check($sub, $v->{$k}, "$path.$k");
            return $err if $err;
        }
    } elsif ($t eq 'array' && $s->{items}) {
        for my $i (0 .. $#$v) {
            my $err = check($s->{items}, $v->[$i], "$path\[$i\]");
            return $err if $err;
        }
    } elsif ($t eq 'string' && defined $s->{pattern}) {
        (my $re = $s->{pattern}) =~ s/\$$/\\z/; # JSON Schema's $ is the end
        return "$path: '$v' does not match /$s->{pattern}/" unless $v =~ /$re/;
    }
    if (defined $s->{minimum} && ($t eq 'integer' || $t eq 'number')) {
        return "$path: $v is below $s->{minimum}" if $v < $s->{minimum};
    }
    return undef;
}

my @docs = $lines ? grep { length } split /\n/, slurp($file) : (slurp($file));
my $n = 0;
for my $d (@docs) {
    $n++;
    my $v = eval { JSON::PP->new->utf8->allow_nonref->decode($d) };
    if (!defined $v && $@) { print "$file:$n: not JSON: $@"; exit 1 }
    my $err = check($root, $v, '$');
    if ($err) { print "$file:", ($lines ? "$n: " : ' '), "$err\n"; exit 1 }
}
exit 0;
