// Builds dist/module.js the way the create-plugin scaffold does: an AMD
// module with Grafana's own libraries left to the host, plus the files a
// plugin directory needs. plugin.json is taken from the repository root.
const path = require('path');
const CopyWebpackPlugin = require('copy-webpack-plugin');
const pkg = require('./package.json');
const pluginJson = require('./plugin.json');

module.exports = (env) => ({
  mode: env.production ? 'production' : 'development',
  devtool: env.production ? 'source-map' : 'eval-source-map',
  context: __dirname,
  entry: { module: './src/module.ts' },
  output: {
    path: path.resolve(__dirname, 'dist'),
    filename: '[name].js',
    library: { type: 'amd' },
    publicPath: `public/plugins/${pluginJson.id}/`,
    uniqueName: pluginJson.id,
    clean: { keep: /^(gpx_|go_plugin_build_manifest)/ },
  },
  externals: [
    'lodash',
    'react',
    'react-dom',
    'react-redux',
    'redux',
    'rxjs',
    'rxjs/operators',
    'react-router',
    'react-router-dom',
    'd3',
    'angular',
    '@emotion/react',
    '@emotion/css',
    /^@grafana\/(ui|runtime|data|schema|i18n)/i,
  ],
  resolve: { extensions: ['.ts', '.tsx', '.js', '.jsx'] },
  module: {
    rules: [
      {
        test: /\.[tj]sx?$/,
        exclude: /node_modules/,
        use: {
          loader: 'swc-loader',
          options: {
            jsc: {
              baseUrl: path.resolve(__dirname, 'src'),
              target: 'es2015',
              parser: { syntax: 'typescript', tsx: true },
              transform: { react: { runtime: 'automatic' } },
            },
          },
        },
      },
    ],
  },
  plugins: [
    new CopyWebpackPlugin({
      patterns: [
        {
          from: 'plugin.json',
          to: '.',
          transform: (content) =>
            content
              .toString()
              .replace(/%VERSION%/g, pkg.version)
              .replace(/%TODAY%/g, new Date().toISOString().substring(0, 10)),
        },
        // Grafana's catalog shows the README from the plugin's directory:
        // its images are there under img/, the docs are the repository's.
        {
          from: 'README.md',
          to: '.',
          transform: (content) =>
            content
              .toString()
              .replace(/\]\(src\/img\//g, '](img/')
              .replace(/\]\((docs\/[^)]+|CHANGELOG\.md)\)/g, `](${pkg.homepage}/blob/main/$1)`),
        },
        { from: 'CHANGELOG.md', to: '.' },
        { from: 'src/img', to: 'img' },
        { from: 'provisioning/dashboards/*.json', to: 'dashboards/[name][ext]' },
      ],
    }),
  ],
});
